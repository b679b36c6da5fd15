/**
 * Whether devices are there: heartbeats bring a device online (or degraded), and the sweep
 * turns devices whose heartbeats stopped offline. Each transition is written once as an event,
 * even with several instances: transitions are conditional updates, and only the instance whose
 * update changed the row writes the event.
 */
import type { Updateable } from 'kysely';
import type { z } from 'zod';
import type { AppContext } from '../context';
import type { AgentHeartbeat } from '../generated/contract.gen';
import { deviceDeleted } from '../agent/credentials';
import { announceEvents, emitEvent, insertEvent } from '../observe/events-store';
import { pendingCommands } from '../operations/commands-store';
import { addMetricSample } from './metric-samples';
import { inGroupCommit } from '../store/group-commit';
import { reusableQuery } from '../store/reusable-query';
import type { DeviceRow, DevicesTable } from '../store/schema';

type Heartbeat = z.infer<typeof AgentHeartbeat>;

type Reported = Partial<Updateable<DevicesTable>>;

/** A heartbeat's update of its device while the status stays the same (see recordHeartbeat). */
const updateWhileStatusStays = reusableQuery(
  (
    db,
    { id, status, now, ...reported }: Reported & { id: string; status: DeviceRow['status']; now: string },
  ) =>
    db
      .updateTable('devices')
      .set(reported)
      .where('id', '=', id)
      .where('status', '=', status)
      .returning((eb) => ['site_id', 'name', pendingCommands(eb, id, now).as('pending_commands')]),
);

/**
 * Records a heartbeat in one statement when the device's status does not change (the usual case):
 * the device row's update, which also answers how many commands wait for the device, committed with
 * the other heartbeats of the moment (store/group-commit.ts). That update leaves `status` out of
 * what it sets: unchanged, it would still rewrite every index on status. The metric sample is
 * buffered (metric-samples.ts). Returns the device's new status, the time it was seen and its
 * pending commands.
 */
export async function recordHeartbeat(
  context: AppContext,
  deviceId: string,
  heartbeat: Heartbeat,
): Promise<{ status: DeviceRow['status']; seenAt: string; pendingCommands: number }> {
  const now = context.now().toISOString();
  const status: DeviceRow['status'] = heartbeat.status === 'degraded' ? 'degraded' : 'online';
  const reported: Reported = {
    last_seen_at: now,
    agent_version: heartbeat.agent_version,
    uptime_seconds: heartbeat.uptime_seconds,
    ...(heartbeat.hostname === undefined ? {} : { hostname: heartbeat.hostname }),
    ...(heartbeat.os_name === undefined ? {} : { os_name: heartbeat.os_name }),
    ...(heartbeat.os_version === undefined ? {} : { os_version: heartbeat.os_version }),
    ...(heartbeat.timezone === undefined ? {} : { timezone: heartbeat.timezone }),
    ...(heartbeat.addresses === undefined ? {} : { addresses: JSON.stringify(heartbeat.addresses) }),
    ...(heartbeat.metrics === undefined ? {} : { metrics: JSON.stringify(heartbeat.metrics) }),
  };
  if (heartbeat.metrics !== undefined)
    addMetricSample(context, { device_id: deviceId, recorded_at: now, ...heartbeat.metrics });
  const values = { ...reported, id: deviceId, status, now };
  const {
    rows: [unchanged],
  } = await inGroupCommit(context.db, deviceId, (trx) => updateWhileStatusStays(trx, values));
  if (unchanged) return { status, seenAt: now, pendingCommands: Number(unchanged.pending_commands) };
  // The status changes, unless another heartbeat changed it in between.
  const before = await context.db
    .updateTable('devices')
    .set({ ...reported, status })
    .where('id', '=', deviceId)
    .where('status', '!=', status)
    .returning((eb) => ['site_id', 'name', pendingCommands(eb, deviceId, now).as('pending_commands')])
    .executeTakeFirst();
  if (!before) {
    const {
      rows: [raced],
    } = await updateWhileStatusStays(context.db, values);
    if (!raced) throw deviceDeleted();
    return { status, seenAt: now, pendingCommands: Number(raced.pending_commands) };
  }
  await emitEvent(
    context,
    status === 'degraded'
      ? {
          type: 'device.degraded',
          severity: 'warning',
          siteId: before.site_id,
          deviceId,
          message: `${before.name} reports a problem.`,
          data: {},
        }
      : {
          type: 'device.online',
          severity: 'info',
          siteId: before.site_id,
          deviceId,
          message: `${before.name} is online.`,
          data: {},
        },
  );
  return { status, seenAt: now, pendingCommands: Number(before.pending_commands) };
}

/** Marks devices offline whose last heartbeat is older than the threshold; returns how many. */
export async function sweepOfflineDevices(context: AppContext): Promise<number> {
  const cutoff = new Date(context.now().getTime() - context.fleet.offlineAfterSeconds * 1000).toISOString();
  const gone = await context.db
    .updateTable('devices')
    .set({ status: 'offline' })
    .where('status', 'in', ['online', 'degraded'])
    .where('last_seen_at', '<', cutoff)
    .returning(['id', 'site_id', 'name', 'last_seen_at'])
    .execute();
  for (const device of gone) {
    await insertEvent(context.db, context, {
      type: 'device.offline',
      severity: 'warning',
      siteId: device.site_id,
      deviceId: device.id,
      message: `${device.name} stopped sending heartbeats and is offline.`,
      data: { last_seen_at: device.last_seen_at, offline_after_seconds: context.fleet.offlineAfterSeconds },
    });
  }
  if (gone.length > 0) announceEvents(context);
  return gone.length;
}

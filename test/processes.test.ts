/**
 * Monitored processes: CRUD with launch modes and weekly schedules, the rules a process must
 * satisfy, and how they reach the agent — its desired configuration, whose version in each
 * heartbeat answer changes as soon as the configuration does.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createMonitoredProcess,
  deleteMonitoredProcess,
  getAgentConfig,
  getMonitoredProcess,
  listMonitoredProcesses,
  sendAgentHeartbeat,
  updateMonitoredProcess,
  type MonitoredProcessCreate,
} from '@meridian/sdk';
import { addAgent, type Agent } from './support/agents';
import { ok } from './support/server';
import { expectProblem } from './support/problem';
import { useTestServer } from './support/use-test-server';
import { addMember, addSite } from './support/world';

const t = useTestServer();
let agent: Agent;
beforeAll(async () => {
  agent = await addAgent(t, (await addSite(t)).id);
});

const WEEKDAYS = {
  days: ['mon', 'tue', 'wed', 'thu', 'fri'] as ('mon' | 'tue' | 'wed' | 'thu' | 'fri')[],
  start_time: '08:00',
  end_time: '18:00',
};
const add = (body: Partial<MonitoredProcessCreate> = {}) =>
  createMonitoredProcess({
    client: t.admin,
    path: { device_id: agent.deviceId },
    body: { name: `proc-${Math.random().toString(36).slice(2)}`, executable_path: '/usr/bin/td', ...body },
  });
const configVersion = async () =>
  ok(
    await sendAgentHeartbeat({
      client: agent.client,
      body: { status: 'ok', agent_version: '1', uptime_seconds: 1 },
    }),
  ).config_version;

describe('monitored processes', () => {
  it('are created always-on by default, listed, read with an ETag, updated under If-Match and deleted', async () => {
    const created = await add({
      name: 'TouchDesigner',
      arguments: ['C:\\Shows\\lobby.toe'],
      working_directory: 'C:\\Shows',
    });
    expect(created.response.status).toBe(201);
    expect(created.response.headers.get('etag')).toBe('"1"');
    const process = created.data!;
    expect(process).toMatchObject({
      device_id: agent.deviceId,
      launch_mode: 'always',
      schedules: [],
      restart_delay_seconds: 5,
      arguments: ['C:\\Shows\\lobby.toe'],
      working_directory: 'C:\\Shows',
    });
    expect(
      ok(await listMonitoredProcesses({ client: t.admin, path: { device_id: agent.deviceId } })).data.map(
        (p) => p.id,
      ),
    ).toContain(process.id);

    const read = await getMonitoredProcess({
      client: t.admin,
      path: { device_id: agent.deviceId, process_id: process.id },
    });
    const updated = await updateMonitoredProcess({
      client: t.admin,
      path: { device_id: agent.deviceId, process_id: process.id },
      headers: { 'If-Match': read.response.headers.get('etag')! },
      body: {
        launch_mode: 'scheduled',
        schedules: [WEEKDAYS, { days: ['sat'], start_time: '22:00', end_time: '02:00' }],
        working_directory: null,
      },
    });
    expect(updated.response.headers.get('etag')).toBe('"2"');
    expect(ok(updated)).toMatchObject({
      launch_mode: 'scheduled',
      working_directory: null,
      schedules: [WEEKDAYS, { days: ['sat'], start_time: '22:00', end_time: '02:00' }],
    });
    const stale = await updateMonitoredProcess({
      client: t.admin,
      path: { device_id: agent.deviceId, process_id: process.id },
      headers: { 'If-Match': '"1"' },
      body: { launch_mode: 'off' },
    });
    expect(stale.response.status).toBe(412);

    expect(
      (
        await deleteMonitoredProcess({
          client: t.admin,
          path: { device_id: agent.deviceId, process_id: process.id },
        })
      ).response.status,
    ).toBe(204);
    expect(
      (
        await getMonitoredProcess({
          client: t.admin,
          path: { device_id: agent.deviceId, process_id: process.id },
        })
      ).response.status,
    ).toBe(404);
  });

  it('refuses a scheduled process without schedules and a zero-length window (422), and a taken name in any case (409)', async () => {
    const refusals: [Partial<MonitoredProcessCreate>, string][] = [
      [{ launch_mode: 'scheduled' }, 'schedule_required'],
      [
        { launch_mode: 'scheduled', schedules: [{ days: ['mon'], start_time: '09:00', end_time: '09:00' }] },
        'empty_schedule_window',
      ],
    ];
    for (const [body, code] of refusals) {
      const refused = await add(body);
      expectProblem(refused, 422, code);
    }
    const first = ok(await add({ name: 'Player' }));
    const taken = await add({ name: 'PLAYER' });
    expectProblem(taken, 409, 'process_name_taken');
    const other = ok(await add({ name: 'Other player' }));
    const renamed = await updateMonitoredProcess({
      client: t.admin,
      path: { device_id: agent.deviceId, process_id: other.id },
      body: { name: 'player' },
    });
    expect(renamed.response.status).toBe(409);
    const unscheduled = await updateMonitoredProcess({
      client: t.admin,
      path: { device_id: agent.deviceId, process_id: first.id },
      body: { launch_mode: 'scheduled' },
    });
    expectProblem(unscheduled, 422, 'schedule_required');
  });

  it('belong to a device: another device or site is 404', async () => {
    const process = ok(await add());
    const other = await addAgent(t, (await addSite(t)).id);
    expect(
      (
        await getMonitoredProcess({
          client: t.admin,
          path: { device_id: other.deviceId, process_id: process.id },
        })
      ).response.status,
    ).toBe(404);
    const stranger = await addMember(t, 'operator', [(await addSite(t)).id]);
    expect(
      (await listMonitoredProcesses({ client: stranger.client, path: { device_id: agent.deviceId } }))
        .response.status,
    ).toBe(404);
  });
});

describe("the agent's desired configuration", () => {
  it('carries the processes and intervals, and its version (in every heartbeat answer) changes with them', async () => {
    const before = await configVersion();
    expect(await configVersion()).toBe(before);
    const process = ok(await add({ name: 'Signage', launch_mode: 'scheduled', schedules: [WEEKDAYS] }));
    const after = await configVersion();
    expect(after).not.toBe(before);
    const config = ok(await getAgentConfig({ client: agent.client }));
    expect(config).toMatchObject({
      device_id: agent.deviceId,
      version: after,
      heartbeat_interval_seconds: 60,
      command_poll_wait_seconds: 30,
    });
    expect(config.processes.find((p) => p.id === process.id)).toEqual(process);
    ok(
      await updateMonitoredProcess({
        client: t.admin,
        path: { device_id: agent.deviceId, process_id: process.id },
        body: { launch_mode: 'off' },
      }),
    );
    const off = await configVersion();
    expect(off).not.toBe(after);
    expect(
      (
        await deleteMonitoredProcess({
          client: t.admin,
          path: { device_id: agent.deviceId, process_id: process.id },
        })
      ).response.status,
    ).toBe(204);
    expect(await configVersion()).not.toBe(off);
    const elsewhere = await addAgent(t, (await addSite(t)).id);
    expect(ok(await getAgentConfig({ client: elsewhere.client })).processes).toEqual([]);
  });
});

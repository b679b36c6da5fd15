/**
 * Rollouts: an agent release brought to devices in batches. Creating one starts its first batch;
 * each device of a started batch is `updating` and learns the version in its heartbeat answer
 * (agentUpdateFor), updates and reports (reportUpdate). A rollout advances (advanceRollout) when
 * a device reports, and on the rollout worker's ticks (device timeouts, batch intervals): when
 * its failures reach the threshold it pauses itself; when a batch has finished (and its interval
 * passed) the next starts; after the last it completes. Every step is a conditional write on the
 * rollout's state as read (its status, its current batch), so of several instances advancing one
 * rollout at the same moment one takes each step and the others change nothing. Each step raises
 * its event (rollout.started, paused, resumed, completed, cancelled; rollout.device_failed) in the
 * transaction that takes it, so it is raised once.
 */
import { type Kysely, sql } from 'kysely';
import type { z } from 'zod';
import type { AppContext } from '../context';
import type { AgentUpdate, Rollout, RolloutCreate, RolloutDevice } from '../generated/contract.gen';
import { visibleSiteIds, type Principal } from '../http/principal';
import { problems } from '../http/problem';
import { announceEvents, insertEvent } from '../observe/events-store';
import { cachePerServer } from '../runtime/credential-cache';
import { startWorker, type Worker } from '../runtime/worker';
import { oneOrNotFound } from '../store/found';
import { newId } from '../store/ids';
import type { Database, RolloutDeviceRow, RolloutDeviceState, RolloutRow } from '../store/schema';
import { insertChunked, MAX_JOB_TARGETS, resolveTargets } from '../operations/jobs-store';

/** The channel of a device that follows none and whose site follows none. */
export const DEFAULT_CHANNEL = 'stable';
const STATES: readonly RolloutDeviceState[] = [
  'pending',
  'updating',
  'succeeded',
  'failed',
  'skipped',
  'cancelled',
];
/** Device details are read this many IDs at a time. */
const READ_CHUNK = 500;

type Counts = z.infer<typeof Rollout>['counts'];

/**
 * Whether any rollout is running, as this instance last read it (for at most the credential
 * cache's few seconds): the heartbeat asks it first, so with no rollout running a heartbeat
 * costs no rollout query. Forgotten here whenever a rollout starts, resumes, pauses or ends.
 */
const runningRollouts = cachePerServer<boolean>();

async function anyRunning(context: AppContext): Promise<boolean> {
  const cache = runningRollouts(context);
  const known = cache.get('running');
  if (known !== undefined) return known;
  const { stamp } = cache;
  const row = await context.db
    .selectFrom('rollouts')
    .select('id')
    .where('status', '=', 'running')
    .limit(1)
    .executeTakeFirst();
  cache.set('running', row !== undefined, stamp);
  return row !== undefined;
}

function rolloutsChanged(context: AppContext): void {
  runningRollouts(context).forget();
}

const STATUS_EVENTS = {
  running: 'rollout.resumed',
  paused: 'rollout.paused',
  completed: 'rollout.completed',
  cancelled: 'rollout.cancelled',
} as const;

/** The `data` of a rollout's events: the rollout as it is after the step. */
const eventData = (rollout: RolloutRow) => ({
  rollout_id: rollout.id,
  name: rollout.name,
  release_id: rollout.release_id,
  version: rollout.version,
  status: rollout.status,
  pause_reason: rollout.pause_reason,
  current_batch: rollout.current_batch,
  batch_count: rollout.batch_count,
});

const titleOf = (rollout: RolloutRow): string =>
  `Rollout ${rollout.name === '' ? rollout.id : JSON.stringify(rollout.name)} of ${rollout.version}`;

/** Raises a rollout-wide event (no site: a rollout may span several) within `db`'s transaction. */
function insertRolloutEvent(
  db: Kysely<Database>,
  context: AppContext,
  rollout: RolloutRow,
  type: 'rollout.started' | (typeof STATUS_EVENTS)[keyof typeof STATUS_EVENTS],
  what: string,
) {
  return insertEvent(db, context, {
    type,
    severity: rollout.pause_reason === 'failure_threshold' ? 'warning' : 'info',
    siteId: null,
    deviceId: null,
    message: `${titleOf(rollout)} ${what}.`,
    data: eventData(rollout),
  });
}

/** Raises `rollout.device_failed` for each of these devices (with its site) within `db`'s transaction. */
async function insertDeviceFailures(
  db: Kysely<Database>,
  context: AppContext,
  rollout: RolloutRow,
  failed: readonly Pick<RolloutDeviceRow, 'device_id' | 'from_version' | 'error'>[],
): Promise<void> {
  for (let first = 0; first < failed.length; first += READ_CHUNK) {
    const chunk = failed.slice(first, first + READ_CHUNK);
    const sites = new Map(
      (
        await db
          .selectFrom('devices')
          .select(['id', 'site_id'])
          .where(
            'id',
            'in',
            chunk.map((row) => row.device_id),
          )
          .execute()
      ).map((device) => [device.id, device.site_id]),
    );
    for (const row of chunk)
      await insertEvent(db, context, {
        type: 'rollout.device_failed',
        severity: 'warning',
        siteId: sites.get(row.device_id) ?? null,
        deviceId: row.device_id,
        message: `${titleOf(rollout)}: the device's update failed: ${row.error}`,
        data: {
          ...eventData(rollout),
          device_id: row.device_id,
          from_version: row.from_version,
          error: row.error,
        },
      });
  }
}

export const toRolloutDevice = (row: RolloutDeviceRow): z.infer<typeof RolloutDevice> => ({
  rollout_id: row.rollout_id,
  device_id: row.device_id,
  batch: row.batch,
  state: row.state,
  from_version: row.from_version,
  error: row.error,
  started_at: row.started_at,
  finished_at: row.finished_at,
});

async function countsOf(context: AppContext, rolloutIds: readonly string[]): Promise<Map<string, Counts>> {
  const counts = new Map<string, Counts>(
    rolloutIds.map((id) => [id, Object.fromEntries(STATES.map((state) => [state, 0])) as Counts]),
  );
  if (rolloutIds.length === 0) return counts;
  const rows = await context.db
    .selectFrom('rollout_devices')
    .select(['rollout_id', 'state', (eb) => eb.fn.countAll<number | string>().as('n')])
    .where('rollout_id', 'in', rolloutIds)
    .groupBy(['rollout_id', 'state'])
    .execute();
  for (const row of rows) counts.get(row.rollout_id)![row.state] = Number(row.n);
  return counts;
}

export async function presentRollouts(
  context: AppContext,
  rows: readonly RolloutRow[],
): Promise<z.infer<typeof Rollout>[]> {
  const counts = await countsOf(
    context,
    rows.map((row) => row.id),
  );
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    release_id: row.release_id,
    version: row.version,
    channel: row.channel,
    status: row.status,
    pause_reason: row.pause_reason,
    batch_size: row.batch_size,
    batch_count: row.batch_count,
    current_batch: row.current_batch,
    failure_threshold: row.failure_threshold,
    batch_interval_seconds: row.batch_interval_seconds,
    device_timeout_seconds: row.device_timeout_seconds,
    counts: counts.get(row.id)!,
    created_by: row.created_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
    finished_at: row.finished_at,
  }));
}

export async function presentRollout(context: AppContext, row: RolloutRow): Promise<z.infer<typeof Rollout>> {
  const [rollout] = await presentRollouts(context, [row]);
  return rollout!;
}

export function findRollout(context: AppContext, id: string): Promise<RolloutRow> {
  return oneOrNotFound(context.db.selectFrom('rollouts').selectAll().where('id', '=', id), 'rollout', id);
}

/** The devices to update, with what decides whether they take the release. */
async function targetDetails(context: AppContext, ids: readonly string[]) {
  const details = [];
  for (let first = 0; first < ids.length; first += READ_CHUNK)
    details.push(
      ...(await context.db
        .selectFrom('devices as d')
        .innerJoin('sites as s', 's.id', 'd.site_id')
        .select(['d.id', 'd.agent_version', 'd.channel', 's.channel as site_channel'])
        .where('d.id', 'in', ids.slice(first, first + READ_CHUNK))
        .orderBy('d.id')
        .execute()),
    );
  return details;
}

/**
 * Creates a rollout and starts its first batch, taking its devices over from older unfinished
 * rollouts. Throws the 400/422 problems of `POST /v1/rollouts`.
 */
export async function createRollout(
  context: AppContext,
  principal: Principal,
  body: z.infer<typeof RolloutCreate>,
): Promise<RolloutRow> {
  if (body.batch_size !== undefined && body.batch_percent !== undefined)
    throw problems.validation([
      { path: '/body/batch_percent', message: 'Give batch_size or batch_percent, not both.' },
    ]);
  const release = await context.db
    .selectFrom('agent_releases')
    .select(['id', 'version', 'channel'])
    .where('id', '=', body.release_id)
    .executeTakeFirst();
  if (!release)
    throw problems.unprocessable('unknown_agent_release', `No agent release ${body.release_id} exists.`);
  const targets = await resolveTargets(
    context,
    { createdBy: principal.user.id, siteIds: visibleSiteIds(principal) },
    body.target,
  );
  if (targets.length > MAX_JOB_TARGETS)
    throw problems.unprocessable(
      'too_many_targets',
      `A rollout may target at most ${MAX_JOB_TARGETS} devices; narrow the target or make several rollouts.`,
    );
  const devices = await targetDetails(
    context,
    targets.map((device) => device.id),
  );
  const skip = (device: (typeof devices)[number]): string | null => {
    const channel = device.channel ?? device.site_channel ?? DEFAULT_CHANNEL;
    if (channel !== release.channel) return `It follows the ${channel} channel, not ${release.channel}.`;
    if (device.agent_version === release.version) return `It already runs ${release.version}.`;
    return null;
  };
  const eligible = devices.filter((device) => skip(device) === null);
  if (eligible.length === 0)
    throw problems.unprocessable(
      'rollout_no_devices',
      `None of the target's devices would update: each follows another channel than ${release.channel}, or already runs ${release.version}.`,
    );
  const batchSize =
    body.batch_size ?? Math.max(1, Math.ceil((eligible.length * (body.batch_percent ?? 100)) / 100));
  const now = context.now().toISOString();
  const deadline = new Date(
    context.now().getTime() + (body.device_timeout_seconds ?? 3600) * 1000,
  ).toISOString();
  const rollout: RolloutRow = {
    id: newId('rlo'),
    name: body.name ?? '',
    release_id: release.id,
    version: release.version,
    channel: release.channel,
    status: 'running',
    pause_reason: null,
    batch_size: batchSize,
    batch_count: Math.ceil(eligible.length / batchSize),
    current_batch: 1,
    failure_threshold: body.failure_threshold ?? 1,
    failures_forgiven: 0,
    batch_interval_seconds: body.batch_interval_seconds ?? 0,
    device_timeout_seconds: body.device_timeout_seconds ?? 3600,
    next_batch_at: null,
    created_by: principal.user.id,
    created_at: now,
    updated_at: now,
    finished_at: null,
  };
  const rows: RolloutDeviceRow[] = devices.map((device) => {
    const reason = skip(device);
    const batch = reason === null ? Math.floor(eligible.indexOf(device) / batchSize) + 1 : 0;
    const started = batch === 1;
    return {
      rollout_id: rollout.id,
      device_id: device.id,
      batch,
      state: reason !== null ? 'skipped' : started ? 'updating' : 'pending',
      from_version: device.agent_version,
      error: reason,
      started_at: started ? now : null,
      deadline_at: started ? deadline : null,
      finished_at: reason !== null ? now : null,
    };
  });
  await context.db.transaction().execute(async (trx) => {
    // A device is in one unfinished rollout at a time: this one takes it over.
    for (let first = 0; first < rows.length; first += READ_CHUNK)
      await trx
        .updateTable('rollout_devices')
        .set({ state: 'cancelled', error: `Taken over by rollout ${rollout.id}.`, finished_at: now })
        .where(
          'device_id',
          'in',
          rows.slice(first, first + READ_CHUNK).map((row) => row.device_id),
        )
        .where('state', 'in', ['pending', 'updating'])
        .execute();
    await trx.insertInto('rollouts').values(rollout).execute();
    await insertChunked(trx, 'rollout_devices', rows);
    await insertRolloutEvent(
      trx,
      context,
      rollout,
      'rollout.started',
      `started (${eligible.length} devices)`,
    );
  });
  rolloutsChanged(context);
  announceEvents(context);
  return rollout;
}

/**
 * Moves the rollout from one status to another, if it is in one of `from`, with the status's event
 * (and `within`, such as cancelling its devices) in the same transaction; whether it was.
 */
async function moveStatus(
  context: AppContext,
  rollout: RolloutRow,
  from: readonly RolloutRow['status'][],
  fields: Partial<RolloutRow> & { status: keyof typeof STATUS_EVENTS },
  what: string,
  within?: (trx: Kysely<Database>) => Promise<unknown>,
): Promise<boolean> {
  const changes = { pause_reason: null, ...fields, updated_at: context.now().toISOString() };
  const moved = await context.db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('rollouts')
      .set(changes)
      .where('id', '=', rollout.id)
      .where('status', 'in', from)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) return false;
    await within?.(trx);
    await insertRolloutEvent(trx, context, { ...rollout, ...changes }, STATUS_EVENTS[fields.status], what);
    return true;
  });
  if (!moved) return false;
  rolloutsChanged(context);
  announceEvents(context);
  return true;
}

/**
 * One look at a running rollout: fails the devices past their deadline, pauses at the failure
 * threshold, starts the next batch when the current one has finished (and its interval passed),
 * completes after the last. Repeats while a step was taken.
 */
export async function advanceRollout(context: AppContext, id: string): Promise<void> {
  for (;;) {
    const rollout = await findRollout(context, id);
    if (rollout.status !== 'running') return;
    const now = context.now();
    const nowIso = now.toISOString();
    const timedOut = await context.db.transaction().execute(async (trx) => {
      const failed = await trx
        .updateTable('rollout_devices')
        .set({
          state: 'failed',
          error: `No outcome reported within ${rollout.device_timeout_seconds} seconds.`,
          finished_at: nowIso,
        })
        .where('rollout_id', '=', id)
        .where('state', '=', 'updating')
        .where('deadline_at', '<=', nowIso)
        .returning(['device_id', 'from_version', 'error'])
        .execute();
      await insertDeviceFailures(trx, context, rollout, failed);
      return failed.length;
    });
    if (timedOut > 0) announceEvents(context);
    const counts = (await countsOf(context, [id])).get(id)!;
    const failures = counts.failed - rollout.failures_forgiven;
    if (failures >= rollout.failure_threshold) {
      await moveStatus(
        context,
        rollout,
        ['running'],
        { status: 'paused', pause_reason: 'failure_threshold' },
        `paused itself: ${failures} devices failed, its threshold is ${rollout.failure_threshold}`,
      );
      return;
    }
    if (counts.updating > 0) return;
    if (rollout.current_batch >= rollout.batch_count) {
      await moveStatus(
        context,
        rollout,
        ['running'],
        { status: 'completed', finished_at: nowIso },
        `completed (${counts.succeeded} devices updated, ${counts.failed} failed)`,
      );
      return;
    }
    if (rollout.batch_interval_seconds > 0 && rollout.next_batch_at === null) {
      await context.db
        .updateTable('rollouts')
        .set({ next_batch_at: new Date(now.getTime() + rollout.batch_interval_seconds * 1000).toISOString() })
        .where('id', '=', id)
        .where('current_batch', '=', rollout.current_batch)
        .where('next_batch_at', 'is', null)
        .execute();
      return;
    }
    if (rollout.next_batch_at !== null && rollout.next_batch_at > nowIso) return;
    const batch = rollout.current_batch + 1;
    const claimed = await context.db
      .updateTable('rollouts')
      .set({ current_batch: batch, next_batch_at: null, updated_at: nowIso })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where('current_batch', '=', rollout.current_batch)
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) === 0) return;
    await context.db
      .updateTable('rollout_devices')
      .set({
        state: 'updating',
        started_at: nowIso,
        deadline_at: new Date(now.getTime() + rollout.device_timeout_seconds * 1000).toISOString(),
      })
      .where('rollout_id', '=', id)
      .where('batch', '=', batch)
      .where('state', '=', 'pending')
      .execute();
  }
}

/** Every running rollout, advanced once (the worker's pass); returns how many were looked at. */
export async function advanceRollouts(context: AppContext): Promise<number> {
  const running = await context.db
    .selectFrom('rollouts')
    .select('id')
    .where('status', '=', 'running')
    .execute();
  for (const { id } of running) await advanceRollout(context, id);
  return running.length;
}

/** Advances rollouts when an agent reports, and on every sweep interval (timeouts, batch intervals). */
export function startRolloutWorker(context: AppContext): Worker {
  return startWorker(context, 'rollouts', {
    topics: [],
    intervalMs: context.fleet.sweepIntervalSeconds * 1000,
    pass: () => advanceRollouts(context),
  });
}

export async function pauseRollout(context: AppContext, rollout: RolloutRow): Promise<void> {
  if (
    !(await moveStatus(
      context,
      rollout,
      ['running'],
      { status: 'paused', pause_reason: 'operator' },
      'paused by an operator',
    ))
  )
    throw problems.conflict(
      'rollout_not_running',
      `Rollout ${rollout.id} is ${rollout.status}, not running.`,
    );
}

export async function resumeRollout(context: AppContext, rollout: RolloutRow): Promise<void> {
  const { failed } = (await countsOf(context, [rollout.id])).get(rollout.id)!;
  const resumed = await moveStatus(
    context,
    rollout,
    ['paused'],
    { status: 'running', failures_forgiven: failed },
    'resumed',
  );
  if (!resumed)
    throw problems.conflict('rollout_not_paused', `Rollout ${rollout.id} is ${rollout.status}, not paused.`);
  await advanceRollout(context, rollout.id);
}

export async function cancelRollout(context: AppContext, rollout: RolloutRow): Promise<void> {
  const now = context.now().toISOString();
  const cancelled = await moveStatus(
    context,
    rollout,
    ['running', 'paused'],
    { status: 'cancelled', finished_at: now },
    'cancelled',
    (trx) =>
      trx
        .updateTable('rollout_devices')
        .set({ state: 'cancelled', finished_at: now })
        .where('rollout_id', '=', rollout.id)
        .where('state', 'in', ['pending', 'updating'])
        .execute(),
  );
  if (!cancelled)
    throw problems.conflict('rollout_finished', `Rollout ${rollout.id} has already ${rollout.status}.`);
}

/**
 * The update a running rollout asks of the device, for its heartbeat answer. With no rollout
 * running (as this instance knows, see anyRunning) it asks the database nothing.
 */
export async function agentUpdateFor(
  context: AppContext,
  deviceId: string,
): Promise<z.infer<typeof AgentUpdate> | undefined> {
  if (!(await anyRunning(context))) return undefined;
  const update = await updatingRollout(context, deviceId);
  if (!update) return undefined;
  const artifacts = await context.db
    .selectFrom('agent_release_artifacts')
    .select(['platform', 'sha256', 'size_bytes', 'source', 'url'])
    .where('release_id', '=', update.release_id)
    .orderBy('platform')
    .execute();
  return {
    rollout_id: update.id,
    release_id: update.release_id,
    version: update.version,
    artifacts: artifacts.map((artifact) => ({
      platform: artifact.platform as z.infer<typeof AgentUpdate>['artifacts'][number]['platform'],
      sha256: artifact.sha256,
      size_bytes: artifact.size_bytes === null ? null : Number(artifact.size_bytes),
      url: artifact.source === 'url' ? artifact.url! : `/v1/agent/update/${artifact.platform}`,
    })),
  };
}

/** The running rollout that asks the device to update, if any. */
export function updatingRollout(context: AppContext, deviceId: string) {
  return context.db
    .selectFrom('rollout_devices as d')
    .innerJoin('rollouts as r', 'r.id', 'd.rollout_id')
    .select(['r.id', 'r.release_id', 'r.version'])
    .where('d.device_id', '=', deviceId)
    .where('d.state', '=', 'updating')
    .where('r.status', '=', 'running')
    .executeTakeFirst();
}

/** Records the agent's outcome, then advances its rollout. Throws the 404/409/422 of the operation. */
export async function reportUpdate(
  context: AppContext,
  deviceId: string,
  report: {
    rollout_id: string;
    outcome: 'succeeded' | 'failed';
    version: string;
    error?: string | undefined;
  },
): Promise<RolloutDeviceRow> {
  const rollout = await findRollout(context, report.rollout_id);
  const row = await oneOrNotFound(
    context.db
      .selectFrom('rollout_devices')
      .selectAll()
      .where('rollout_id', '=', rollout.id)
      .where('device_id', '=', deviceId),
    'rollout',
    report.rollout_id,
  );
  const notExpected = () =>
    problems.conflict(
      'update_not_expected',
      `Rollout ${rollout.id} is not waiting for this device's outcome (its state there is ${row.state}).`,
    );
  if (row.state !== 'updating') throw notExpected();
  if (report.outcome === 'succeeded' && report.version !== rollout.version)
    throw problems.unprocessable(
      'update_version_mismatch',
      `The rollout brings ${rollout.version}; an update that succeeded runs it, not ${report.version}.`,
    );
  const now = context.now().toISOString();
  const fields = {
    state: report.outcome,
    error: report.outcome === 'failed' ? (report.error ?? 'The agent reported a failure.') : null,
    finished_at: now,
  } as const;
  const recorded = await context.db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('rollout_devices')
      .set(fields)
      .where('rollout_id', '=', rollout.id)
      .where('device_id', '=', deviceId)
      .where('state', '=', 'updating')
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) return false;
    if (report.outcome === 'succeeded')
      await trx
        .updateTable('devices')
        .set({ agent_version: report.version })
        .where('id', '=', deviceId)
        .execute();
    else await insertDeviceFailures(trx, context, rollout, [{ ...row, ...fields }]);
    return true;
  });
  if (!recorded) throw notExpected();
  announceEvents(context);
  await advanceRollout(context, rollout.id);
  return { ...row, ...fields };
}

/** The devices of a rollout the principal can see, for its device list. */
export function selectRolloutDevices(
  context: AppContext,
  principal: Principal,
  rolloutId: string,
  state: RolloutDeviceState | undefined,
) {
  const siteIds = visibleSiteIds(principal);
  return context.db
    .selectFrom('rollout_devices as rd')
    .innerJoin('devices as dv', 'dv.id', 'rd.device_id')
    .selectAll('rd')
    .select(sql<string>`rd.device_id`.as('id'))
    .where('rd.rollout_id', '=', rolloutId)
    .$if(state !== undefined, (qb) => qb.where('rd.state', '=', state!))
    .$if(siteIds !== null, (qb) => qb.where('dv.site_id', 'in', siteIds!));
}

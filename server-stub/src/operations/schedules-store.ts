/**
 * Schedules: how they are stored, checked and presented, and the ticker that starts their runs.
 *
 * Each run starts a job with `startJob` (jobs-store.ts). The ticker claims a due run by moving
 * `next_run_at` on with an update conditional on the value it read, inside the transaction that
 * writes the job: with several instances on one database the first to commit starts the job and
 * the others' claims match no row, so their jobs roll back. A run found more than
 * `MISSED_AFTER_MS` late (no server was running at its time) follows the schedule's missed-run
 * policy: `skip` moves on to the next run, `run_once` runs once now, however many were missed.
 */
import type { Kysely, Updateable } from 'kysely';
import type { z } from 'zod';
import type { AppContext } from '../context';
import type { Schedule, ScheduleTriggerInput } from '../generated/contract.gen';
import { ApiError, type FieldIssue, problems } from '../http/problem';
import type { Principal } from '../http/principal';
import { startWorker, type Worker } from '../runtime/worker';
import { oneOrNotFound } from '../store/found';
import type { Database, JobRow, ScheduleRow, ScheduleRunCause, SchedulesTable } from '../store/schema';
import { type JobOrigin, type JobRequest, startJob } from './jobs-store';
import { assertValidCron, canonicalTimeZone, nextRunAfter, type Trigger } from './schedules-timing';

type ScheduleBody = z.infer<typeof Schedule>;
type TriggerInput = z.infer<typeof ScheduleTriggerInput>;
export type TriggerColumns = Pick<
  SchedulesTable,
  'trigger_kind' | 'cron' | 'time_zone' | 'interval_seconds' | 'anchor_at' | 'run_at'
>;

/** A run found later than this after its time was missed (no server was running then). */
export const MISSED_AFTER_MS = 60_000;
/** How often the ticker looks for due runs. */
const TICK_MS = 1000;
const CLAIM_BATCH = 50;

const FIELDS_OF: Record<TriggerInput['kind'], readonly (keyof TriggerInput)[]> = {
  cron: ['cron', 'time_zone'],
  interval: ['interval_seconds'],
  once: ['run_at'],
};
const REQUIRED_OF: Record<TriggerInput['kind'], keyof TriggerInput> = {
  cron: 'cron',
  interval: 'interval_seconds',
  once: 'run_at',
};

/** The columns of a trigger as given, checked (422 `schedule_trigger_invalid` naming each problem). */
export function triggerColumns(input: TriggerInput, now: Date): TriggerColumns {
  const issues: FieldIssue[] = [];
  for (const field of ['cron', 'time_zone', 'interval_seconds', 'run_at'] as const) {
    if (input[field] !== undefined && !FIELDS_OF[input.kind].includes(field))
      issues.push({
        path: `/body/trigger/${field}`,
        message: `A ${input.kind} trigger does not take ${field}.`,
      });
  }
  const required = REQUIRED_OF[input.kind];
  if (input[required] === undefined)
    issues.push({ path: `/body/trigger/${required}`, message: `A ${input.kind} trigger needs ${required}.` });
  if (input.kind === 'once' && input.run_at !== undefined && Date.parse(input.run_at) <= now.getTime())
    issues.push({ path: '/body/trigger/run_at', message: 'run_at must be in the future.' });
  if (issues.length > 0)
    throw problems.unprocessable(
      'schedule_trigger_invalid',
      'The trigger cannot be used: see errors.',
      issues,
    );
  const columns: TriggerColumns = {
    trigger_kind: input.kind,
    cron: null,
    time_zone: null,
    interval_seconds: null,
    anchor_at: null,
    run_at: null,
  };
  if (input.kind === 'cron') {
    const timeZone = input.time_zone ?? 'UTC';
    assertValidCron(input.cron!, timeZone, now);
    return { ...columns, cron: input.cron!, time_zone: canonicalTimeZone(timeZone) };
  }
  if (input.kind === 'interval')
    return { ...columns, interval_seconds: input.interval_seconds!, anchor_at: now.toISOString() };
  return { ...columns, run_at: new Date(input.run_at!).toISOString() };
}

export function triggerOf(row: TriggerColumns): Trigger {
  if (row.trigger_kind === 'cron') return { kind: 'cron', cron: row.cron!, time_zone: row.time_zone! };
  if (row.trigger_kind === 'interval')
    return { kind: 'interval', interval_seconds: row.interval_seconds!, anchor_at: row.anchor_at! };
  return { kind: 'once', run_at: row.run_at! };
}

/** The next run after `now` of an enabled schedule with these trigger columns (null for a disabled one). */
export function nextRunOf(row: TriggerColumns & { enabled: number }, now: Date): string | null {
  if (row.enabled !== 1) return null;
  return nextRunAfter(triggerOf(row), now)?.toISOString() ?? null;
}

/** `in ()` is not valid SQL: an empty list becomes one ID that cannot exist. */
const listOf = (ids: readonly string[]): readonly string[] => (ids.length > 0 ? ids : ['']);

/**
 * Schedules all of whose sites are among `siteIds` (every schedule when null); a schedule that
 * may act on every site is an admin's alone.
 */
export function selectSchedules(context: AppContext, siteIds: readonly string[] | null) {
  return context.db
    .selectFrom('schedules as s')
    .selectAll('s')
    .$if(siteIds !== null, (qb) =>
      qb
        .where('s.all_sites', '=', 0)
        .where(({ exists, not, selectFrom }) =>
          not(
            exists(
              selectFrom('schedule_sites as ss')
                .select('ss.site_id')
                .whereRef('ss.schedule_id', '=', 's.id')
                .where('ss.site_id', 'not in', listOf(siteIds!)),
            ),
          ),
        ),
    );
}

export function findVisibleSchedule(context: AppContext, siteIds: readonly string[] | null, id: string) {
  return oneOrNotFound(selectSchedules(context, siteIds).where('s.id', '=', id), 'schedule', id);
}

/** The schedules as the API shows them, with their sites. */
export async function presentSchedules(
  context: AppContext,
  rows: readonly ScheduleRow[],
): Promise<ScheduleBody[]> {
  const sites = new Map<string, string[]>(rows.map((row) => [row.id, []]));
  if (rows.length > 0) {
    const links = await context.db
      .selectFrom('schedule_sites')
      .select(['schedule_id', 'site_id'])
      .where(
        'schedule_id',
        'in',
        rows.map((row) => row.id),
      )
      .orderBy('site_id')
      .execute();
    for (const link of links) sites.get(link.schedule_id)!.push(link.site_id);
  }
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    description: row.description,
    enabled: row.enabled === 1,
    trigger: {
      kind: row.trigger_kind,
      cron: row.cron,
      time_zone: row.time_zone,
      interval_seconds: row.interval_seconds,
      run_at: row.run_at,
    },
    missed_runs: row.missed_runs,
    job: JSON.parse(row.job) as ScheduleBody['job'],
    site_ids: row.all_sites === 1 ? null : sites.get(row.id)!,
    next_run_at: row.next_run_at,
    last_run:
      row.last_run_job_id === null
        ? null
        : {
            job_id: row.last_run_job_id,
            cause: row.last_run_cause!,
            scheduled_for: row.last_run_scheduled_for,
            started_at: row.last_run_at!,
          },
    last_error: row.last_error,
    last_skipped_at: row.last_skipped_at,
    created_by: row.created_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
  }));
}

export async function presentSchedule(context: AppContext, row: ScheduleRow): Promise<ScheduleBody> {
  return (await presentSchedules(context, [row]))[0]!;
}

/** Thrown inside a job's transaction to roll it back without an error for the caller. */
class RolledBack extends Error {}

/** The 400/422 of a job body under `/body/job` (startJob names paths from the body of `POST /v1/jobs`). */
function underJob(error: unknown): unknown {
  if (!(error instanceof ApiError) || !error.errors) return error;
  return new ApiError(
    error.status,
    error.code,
    error.title,
    error.detail,
    error.errors.map((issue) => ({ ...issue, path: issue.path.replace(/^\/body\//, '/body/job/') })),
    error.headers,
  );
}

/** Checks a schedule's job as `POST /v1/jobs` would for `principal`, by starting it in a transaction that is rolled back. */
export async function checkJob(context: AppContext, principal: Principal, job: JobRequest): Promise<void> {
  const origin: JobOrigin = {
    createdBy: principal.user.id,
    siteIds: principal.siteIds,
    within: () => Promise.reject(new RolledBack()),
  };
  try {
    await startJob(context, origin, job);
  } catch (error) {
    if (!(error instanceof RolledBack)) throw underJob(error);
  }
}

/**
 * The sites a schedule acts on: those its job's target names or holds the devices of, or the
 * principal's (null for every site: an admin's schedule on a target bound to no site).
 */
export async function jobSites(
  context: AppContext,
  principal: Principal,
  job: JobRequest,
): Promise<readonly string[] | null> {
  if (job.target.site_ids) return [...new Set(job.target.site_ids)];
  if (job.target.device_ids) {
    const devices = await context.db
      .selectFrom('devices')
      .select('site_id')
      .distinct()
      .where('id', 'in', job.target.device_ids)
      .execute();
    return devices.map((device) => device.site_id);
  }
  return principal.siteIds;
}

/** Writes the schedule's sites (`trx`: the transaction that writes the schedule). */
export async function writeScheduleSites(
  trx: Kysely<Database>,
  scheduleId: string,
  siteIds: readonly string[] | null,
): Promise<void> {
  await trx.deleteFrom('schedule_sites').where('schedule_id', '=', scheduleId).execute();
  if (siteIds !== null && siteIds.length > 0)
    await trx
      .insertInto('schedule_sites')
      .values(siteIds.map((siteId) => ({ schedule_id: scheduleId, site_id: siteId })))
      .execute();
}

async function scheduleSiteIds(context: AppContext, row: ScheduleRow): Promise<readonly string[] | null> {
  if (row.all_sites === 1) return null;
  const links = await context.db
    .selectFrom('schedule_sites')
    .select('site_id')
    .where('schedule_id', '=', row.id)
    .execute();
  return links.map((link) => link.site_id);
}

interface RunRecord {
  cause: ScheduleRunCause;
  scheduledFor: string | null;
}

const lastRunColumns = (context: AppContext, job: JobRow, run: RunRecord) => ({
  last_run_job_id: job.id,
  last_run_cause: run.cause,
  last_run_scheduled_for: run.scheduledFor,
  last_run_at: context.now().toISOString(),
  last_error: null,
});

/**
 * Starts the schedule's job now for `principal` (`POST …/run-now`); its next run does not move.
 * Throws the 422s of `POST /v1/jobs` when the job cannot start.
 */
export async function runScheduleNow(
  context: AppContext,
  principal: Principal,
  row: ScheduleRow,
): Promise<JobRow> {
  try {
    return await startJob(
      context,
      {
        createdBy: principal.user.id,
        siteIds: principal.siteIds,
        scheduleId: row.id,
        within: async (trx, job) => {
          await trx
            .updateTable('schedules')
            .set(lastRunColumns(context, job, { cause: 'run_now', scheduledFor: null }))
            .where('id', '=', row.id)
            .execute();
        },
      },
      JSON.parse(row.job) as JobRequest,
    );
  } catch (error) {
    throw underJob(error);
  }
}

/** The conditional update that claims the due run `row` read: it applies only if nobody moved it first. */
function claim(db: Kysely<Database>, row: ScheduleRow, changes: Updateable<SchedulesTable>) {
  return db
    .updateTable('schedules')
    .set(changes)
    .where('id', '=', row.id)
    .where('enabled', '=', 1)
    .where('next_run_at', '=', row.next_run_at)
    .executeTakeFirst();
}

/** Handles one due run of `row`: starts its job, or skips it, or records why it could not start. */
async function runDue(context: AppContext, row: ScheduleRow): Promise<void> {
  const now = context.now();
  const missed = now.getTime() - Date.parse(row.next_run_at!) > MISSED_AFTER_MS;
  const next = nextRunOf(row, now);
  if (missed && row.missed_runs === 'skip') {
    await claim(context.db, row, { next_run_at: next, last_skipped_at: row.next_run_at });
    return;
  }
  const run: RunRecord = { cause: missed ? 'missed' : 'scheduled', scheduledFor: row.next_run_at };
  try {
    await startJob(
      context,
      {
        createdBy: row.created_by,
        siteIds: await scheduleSiteIds(context, row),
        scheduleId: row.id,
        within: async (trx, job) => {
          const claimed = await claim(trx, row, { next_run_at: next, ...lastRunColumns(context, job, run) });
          if (Number(claimed.numUpdatedRows) === 0) throw new RolledBack();
        },
      },
      JSON.parse(row.job) as JobRequest,
    );
  } catch (error) {
    if (error instanceof RolledBack) return;
    if (!(error instanceof ApiError)) throw error;
    await claim(context.db, row, { next_run_at: next, last_error: error.detail.slice(0, 1000) });
  }
}

/** Starts every run that is due now; returns how many due runs this instance looked at. */
export async function runDueSchedules(context: AppContext): Promise<number> {
  let seen = 0;
  for (;;) {
    const due = await context.db
      .selectFrom('schedules')
      .selectAll()
      .where('enabled', '=', 1)
      .where('next_run_at', '<=', context.now().toISOString())
      .orderBy('next_run_at')
      .limit(CLAIM_BATCH)
      .execute();
    for (const row of due) await runDue(context, row);
    seen += due.length;
    if (due.length < CLAIM_BATCH) return seen;
  }
}

/** The ticker: looks for due runs every second on the context's timers. */
export function startScheduleWorker(context: AppContext): Worker {
  return startWorker(context, 'schedules', {
    topics: [],
    intervalMs: TICK_MS,
    pass: () => runDueSchedules(context),
  });
}

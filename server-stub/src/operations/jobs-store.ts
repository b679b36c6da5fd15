/**
 * Jobs: one piece of work over many devices, each target a command of its own sent with the
 * commands machinery (so agents receive it by their usual long-poll). A job's counts are read
 * from its targets' commands; it ends when none of them is live any more, which `settleJobs`
 * records once (a conditional update on the running state and attempt), with `job.finished`.
 *
 * `startJob` is what both `POST /v1/jobs` and the schedules call.
 */
import { type Insertable, type Kysely, sql } from 'kysely';
import type { AppContext } from '../context';
import { assertCommandParams, deviceTypes, findCommandType } from '../fleet/device-type-catalogue';
import { problems } from '../http/problem';
import { announceEvents, insertEvent } from '../observe/events-store';
import { oneOrNotFound } from '../store/found';
import { newId } from '../store/ids';
import type {
  CommandRow,
  CommandStatus,
  Database,
  DeviceRow,
  JobKind,
  JobRow,
  JobState,
  JobTargetRow,
  ScriptContent,
} from '../store/schema';
import {
  COMMANDS_CHANGED_TOPIC,
  commandChanged,
  deviceCommandsTopic,
  expireDueCommands,
  LIVE_STATUSES,
  newCommandRow,
} from './commands-store';
import { startWorker, type Worker } from '../runtime/worker';
import { loadScript, runScriptParams, scriptArgumentIssues } from './scripts-store';
import { deviceFilterCondition } from '../fleet/device-filter-sql';
import { uninstallRefusals } from '../lifecycle/software-block-list';
import { savedFilterExpression } from '../fleet/device-filters-store';

/** The most devices one job may target. */
export const MAX_JOB_TARGETS = 10_000;
/** The end of each output stream a target shows. */
const OUTPUT_TAIL = 4096;
/** Rows per INSERT (well under both engines' bound-parameter limits). */
const INSERT_CHUNK = 500;

export type JobTargetState = CommandStatus | 'unsupported';
type ScriptArguments = Record<string, string | number | boolean>;
/** Arguments become environment variables (`MERIDIAN_PARAM_<NAME>`), so their names must be names. */
const ARGUMENT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** The command type scripts run as. */
const RUN_SCRIPT = 'run_script';
/** The command type the software block list keeps from devices. */
const UNINSTALL_SOFTWARE = 'uninstall_software';

/** What to run and where, as `POST /v1/jobs` takes it. */
export interface JobRequest {
  name?: string | undefined;
  command?: { type: string; params?: Record<string, unknown> | undefined } | undefined;
  script?:
    | { script_id: string; version?: number | undefined; arguments?: ScriptArguments | undefined }
    | undefined;
  inline_script?:
    | { language: ScriptContent['language']; body: string; arguments?: ScriptArguments | undefined }
    | undefined;
  target: {
    device_ids?: string[] | undefined;
    site_ids?: string[] | undefined;
    filter_id?: string | undefined;
    filter?: unknown;
  };
  timeout_seconds?: number | undefined;
  /**
   * Only devices of this platform run it; the others are targets `unsupported`. Not part of
   * `POST /v1/jobs`: a deployment's installer is for one platform.
   */
  platform?: DeviceRow['platform'];
}

/** Who starts a job: the user it runs as (null for none) and the sites they may act on (null: all). */
export interface JobOrigin {
  createdBy: string | null;
  siteIds: readonly string[] | null;
  scheduleId?: string | null;
  /**
   * Runs first in the transaction that writes the job; throwing rolls the job back. A schedule
   * claims its run here, so the claim and the job commit together (operations/schedules-store.ts).
   */
  within?: (trx: Kysely<Database>, job: JobRow) => Promise<void>;
  /** Runs in the same transaction once the job, its targets and commands are written (a deployment's row). */
  written?: (trx: Kysely<Database>, job: JobRow) => Promise<void>;
}

/** What a job is to the caller, for its 409s: a job, or a deployment running as one. */
export interface JobSubject {
  kind: 'job' | 'deployment';
  id: string;
}

export type JobCounts = Record<JobTargetState | 'total', number>;

/** Signalled when a job finishes (operators waiting on it). */
export const jobTopic = (jobId: string): string => `job:${jobId}`;

const emptyCounts = (): JobCounts => ({
  total: 0,
  pending: 0,
  delivered: 0,
  running: 0,
  succeeded: 0,
  failed: 0,
  cancelled: 0,
  expired: 0,
  unsupported: 0,
});

/** `in ()` is not valid SQL: an empty list of sites becomes one ID that cannot exist. */
const siteList = (siteIds: readonly string[]): readonly string[] => (siteIds.length > 0 ? siteIds : ['']);

/** Jobs whose every target is on one of `siteIds` (every job when null). */
export function selectJobs(context: AppContext, siteIds: readonly string[] | null) {
  return context.db
    .selectFrom('jobs as j')
    .selectAll('j')
    .$if(siteIds !== null, (qb) =>
      qb.where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('job_targets as t')
              .innerJoin('devices as d', 'd.id', 't.device_id')
              .select('t.device_id')
              .whereRef('t.job_id', '=', 'j.id')
              .where('d.site_id', 'not in', siteList(siteIds!)),
          ),
        ),
      ),
    );
}

export function findVisibleJob(context: AppContext, siteIds: readonly string[] | null, id: string) {
  return oneOrNotFound(selectJobs(context, siteIds).where('j.id', '=', id), 'job', id);
}

/** The counts of targets by state of each job in `jobIds`. */
export async function countTargets(
  db: Kysely<Database>,
  jobIds: readonly string[],
): Promise<Map<string, JobCounts>> {
  const counts = new Map(jobIds.map((id) => [id, emptyCounts()]));
  if (jobIds.length === 0) return counts;
  const rows = await db
    .selectFrom('job_targets as t')
    .leftJoin('commands as c', 'c.id', 't.command_id')
    .select(['t.job_id', 'c.status'])
    .select((eb) => eb.fn.countAll().as('n'))
    .where('t.job_id', 'in', jobIds)
    .groupBy(['t.job_id', 'c.status'])
    .execute();
  for (const row of rows) {
    const job = counts.get(row.job_id)!;
    job[row.status ?? 'unsupported'] += Number(row.n);
    job.total += Number(row.n);
  }
  return counts;
}

/** The state of a job none of whose targets is live any more. */
function finalState(job: Pick<JobRow, 'cancelled_at'>, counts: JobCounts): JobState {
  if (job.cancelled_at !== null) return 'cancelled';
  if (counts.succeeded === counts.total) return 'succeeded';
  return counts.succeeded === 0 ? 'failed' : 'partially_failed';
}

/** The catalogue's command type `type` (from any device type that has it); 422 when none has. */
function catalogueCommand(type: string) {
  const owner = deviceTypes.find((deviceType) => findCommandType(deviceType.id, type));
  if (!owner)
    throw problems.unprocessable(
      'unknown_command_type',
      `No device type has a command ${type}; see GET /v1/device-types.`,
    );
  return { deviceType: owner.id, command: findCommandType(owner.id, type)! };
}

interface TargetDevice {
  id: string;
  device_type: string;
  platform: DeviceRow['platform'];
}

/** What a job runs, checked: the command every target gets, and who cannot run it (and why). */
interface JobAction {
  kind: JobKind;
  commandType: string;
  params: Record<string, unknown>;
  scriptId: string | null;
  scriptVersion: number | null;
  defaultTimeoutSeconds: number;
  unsupported(device: TargetDevice): string | null;
}

const lacksCommand = (type: string) => (device: TargetDevice) =>
  findCommandType(device.device_type, type)
    ? null
    : `Devices of type ${device.device_type} have no command ${type}.`;

/** `action` limited to the devices of `platform`, when given. */
function onPlatform(action: JobAction, platform: DeviceRow['platform'] | undefined): JobAction {
  if (platform === undefined) return action;
  return {
    ...action,
    unsupported: (device) =>
      action.unsupported(device) ??
      (device.platform === platform ? null : `It is for ${platform}, not ${device.platform}.`),
  };
}

/**
 * The devices of `deviceIds` that must not get a job's command, with why: those whose software
 * block list (and overrides) protects what an `uninstall_software` command would remove.
 */
async function refusals(
  context: AppContext,
  commandType: string,
  params: Record<string, unknown>,
  deviceIds: readonly string[],
): Promise<Map<string, string>> {
  return commandType === UNINSTALL_SOFTWARE
    ? uninstallRefusals(context, params, deviceIds)
    : new Map<string, string>();
}

/** Checks what `request` runs (exactly one of command, script and inline_script). */
async function resolveAction(context: AppContext, request: JobRequest): Promise<JobAction> {
  const given = [request.command, request.script, request.inline_script].filter(
    (a) => a !== undefined,
  ).length;
  if (given !== 1)
    throw problems.validation([
      { path: '/body', message: 'Say what to run with exactly one of command, script and inline_script.' },
    ]);
  if (request.command) {
    const params = request.command.params ?? {};
    const { deviceType, command } = catalogueCommand(request.command.type);
    assertCommandParams(deviceType, request.command.type, params, '/body/command/params');
    return {
      kind: 'command',
      commandType: request.command.type,
      params,
      scriptId: null,
      scriptVersion: null,
      defaultTimeoutSeconds: command.default_timeout_seconds,
      unsupported: lacksCommand(request.command.type),
    };
  }
  const runScript = catalogueCommand(RUN_SCRIPT).command;
  if (request.script) {
    const { script_id: scriptId, version } = request.script;
    const script = await loadScript(context.db, scriptId, version);
    if (!script)
      throw problems.unprocessable(
        'unknown_script',
        version === undefined
          ? `No script ${scriptId} exists.`
          : `Script ${scriptId} has no version ${version} (or does not exist).`,
      );
    const args = request.script.arguments ?? {};
    const issues = scriptArgumentIssues(script, args, '/body/script/arguments');
    if (issues.length > 0)
      throw problems.unprocessable(
        'invalid_script_arguments',
        `The arguments do not match the parameters of script ${script.name}: see errors.`,
        issues,
      );
    return {
      kind: 'script',
      commandType: RUN_SCRIPT,
      params: runScriptParams(script, args),
      scriptId: script.script_id,
      scriptVersion: script.version,
      defaultTimeoutSeconds: script.timeout_seconds,
      unsupported: (device) =>
        lacksCommand(RUN_SCRIPT)(device) ??
        (script.platforms.includes(device.platform)
          ? null
          : `Script ${script.name} is for ${script.platforms.join(', ')}, not ${device.platform}.`),
    };
  }
  const inline = request.inline_script!;
  const args = inline.arguments ?? {};
  const badNames = Object.keys(args).filter((name) => !ARGUMENT_NAME.test(name));
  if (badNames.length > 0)
    throw problems.validation(
      badNames.map((name) => ({
        path: `/body/inline_script/arguments/${name}`,
        message: `must match ${ARGUMENT_NAME.source} (it becomes MERIDIAN_PARAM_${name})`,
      })),
    );
  return {
    kind: 'inline_script',
    commandType: RUN_SCRIPT,
    params: { language: inline.language, body: inline.body, parameters: args },
    scriptId: null,
    scriptVersion: null,
    defaultTimeoutSeconds: runScript.default_timeout_seconds,
    unsupported: lacksCommand(RUN_SCRIPT),
  };
}

/** The devices `target` names, as the origin may see them; unknown ones are a 422. */
export async function resolveTargets(
  context: AppContext,
  origin: JobOrigin,
  target: JobRequest['target'],
): Promise<TargetDevice[]> {
  const given = [target.device_ids, target.site_ids, target.filter_id, target.filter].filter(
    (choice) => choice !== undefined,
  ).length;
  if (given !== 1)
    throw problems.validation([
      { path: '/body/target', message: 'Give exactly one of device_ids, site_ids, filter_id and filter.' },
    ]);
  const visible = context.db
    .selectFrom('devices')
    .select(['id', 'device_type', 'platform'])
    .$if(origin.siteIds !== null, (qb) => qb.where('site_id', 'in', siteList(origin.siteIds!)))
    .orderBy('id')
    .limit(MAX_JOB_TARGETS + 1);
  if (target.device_ids) {
    const devices = await visible.where('id', 'in', target.device_ids).execute();
    const found = new Set(devices.map((d) => d.id));
    const missing = target.device_ids.filter((id) => !found.has(id));
    if (missing.length > 0) throw problems.unknownReference('device', missing.slice(0, 20));
    return devices;
  }
  if (target.site_ids) {
    const siteIds = target.site_ids;
    const sites = await context.db
      .selectFrom('sites')
      .select('id')
      .where('id', 'in', siteIds)
      .$if(origin.siteIds !== null, (qb) => qb.where('id', 'in', siteList(origin.siteIds!)))
      .execute();
    const found = new Set(sites.map((s) => s.id));
    const missing = siteIds.filter((id) => !found.has(id));
    if (missing.length > 0) throw problems.unknownReference('site', missing.slice(0, 20));
    return visible.where('site_id', 'in', siteIds).execute();
  }
  const expression =
    target.filter_id === undefined
      ? target.filter
      : await savedFilterExpression(context, target.filter_id, { forNewWork: true });
  const path = target.filter_id === undefined ? '/body/target/filter' : '/body/target/filter_id';
  return visible.where(await deviceFilterCondition(context, expression, path)).execute();
}

/** Inserts rows a few hundred at a time (an engine limits the parameters of one statement). */
export async function insertChunked<T extends keyof Database & string>(
  db: Kysely<Database>,
  table: T,
  rows: Insertable<Database[T]>[],
): Promise<void> {
  for (let first = 0; first < rows.length; first += INSERT_CHUNK)
    await db
      .insertInto(table)
      .values(rows.slice(first, first + INSERT_CHUNK) as never)
      .execute();
}

/**
 * The site a job's events belong to: its targets' site when they are all on one (so operators of
 * that site see them), else none (the fleet's, which admins see).
 */
async function jobSiteId(db: Kysely<Database>, jobId: string): Promise<string | null> {
  const sites = await db
    .selectFrom('job_targets as t')
    .innerJoin('devices as d', 'd.id', 't.device_id')
    .select('d.site_id')
    .distinct()
    .where('t.job_id', '=', jobId)
    .limit(2)
    .execute();
  return sites.length === 1 ? sites[0]!.site_id : null;
}

const startedEvent = (job: JobRow, counts: JobCounts, siteId: string | null) => ({
  type: 'job.started',
  severity: 'info' as const,
  siteId,
  deviceId: null,
  message: `Job ${job.name} started on ${counts.total} device(s)${job.attempt > 1 ? ` (attempt ${job.attempt})` : ''}.`,
  data: { job_id: job.id, name: job.name, attempt: job.attempt, counts },
});

/** Counts of a job about to start: its new commands pending, its unsupported targets. */
function startingCounts(
  total: number,
  commands: number,
  unsupported: number,
  before = emptyCounts(),
): JobCounts {
  return { ...before, total, pending: commands, unsupported };
}

/**
 * Starts a job: checks what it runs, resolves its targets as `origin` sees them, and writes the
 * job, its targets and one pending command per device that can run it (with `job.started`) in
 * one transaction; then wakes the agents. Throws the 400/422 problems of `POST /v1/jobs`.
 */
export async function startJob(context: AppContext, origin: JobOrigin, request: JobRequest): Promise<JobRow> {
  const action = onPlatform(await resolveAction(context, request), request.platform);
  const devices = await resolveTargets(context, origin, request.target);
  if (devices.length > MAX_JOB_TARGETS)
    throw problems.unprocessable(
      'too_many_targets',
      `A job may target at most ${MAX_JOB_TARGETS} devices; narrow the target or split the job.`,
    );

  const timeoutSeconds = request.timeout_seconds ?? action.defaultTimeoutSeconds;
  // A script is killed by its agent when the job's commands expire, not at another time.
  const params =
    action.commandType === RUN_SCRIPT ? { ...action.params, timeout_seconds: timeoutSeconds } : action.params;
  const job: JobRow = {
    id: newId('job'),
    name:
      request.name ??
      (request.command
        ? `Run ${request.command.type}`
        : `Run ${request.script ? 'script' : 'a quick script'}`),
    kind: action.kind,
    command_type: action.commandType,
    params: JSON.stringify(params),
    script_id: action.scriptId,
    script_version: action.scriptVersion,
    target: JSON.stringify(request.target),
    filter_id: request.target.filter_id ?? null,
    timeout_seconds: timeoutSeconds,
    state: 'running',
    attempt: 1,
    schedule_id: origin.scheduleId ?? null,
    created_by: origin.createdBy,
    created_at: context.now().toISOString(),
    finished_at: null,
    cancelled_at: null,
  };
  const refused = await refusals(
    context,
    action.commandType,
    params,
    devices.map((device) => device.id),
  );
  const commands: CommandRow[] = [];
  const targets: JobTargetRow[] = devices.map((device) => {
    const reason = action.unsupported(device) ?? refused.get(device.id) ?? null;
    if (reason !== null)
      return {
        job_id: job.id,
        device_id: device.id,
        command_id: null,
        unsupported_reason: reason,
        attempts: 0,
      };
    const row = newCommandRow(context, {
      deviceId: device.id,
      type: job.command_type,
      params,
      timeoutSeconds,
      createdBy: origin.createdBy,
      jobId: job.id,
    });
    commands.push(row);
    return {
      job_id: job.id,
      device_id: device.id,
      command_id: row.id,
      unsupported_reason: null,
      attempts: 1,
    };
  });
  const counts = startingCounts(targets.length, commands.length, targets.length - commands.length);
  await context.db.transaction().execute(async (trx) => {
    await origin.within?.(trx, job);
    await trx.insertInto('jobs').values(job).execute();
    await insertChunked(trx, 'job_targets', targets);
    await insertChunked(trx, 'commands', commands);
    await origin.written?.(trx, job);
    await insertEvent(trx, context, startedEvent(job, counts, await jobSiteId(trx, job.id)));
  });
  announceEvents(context);
  for (const row of commands) context.signals.notify(deviceCommandsTopic(row.device_id));
  if (commands.length === 0) await settleJobs(context, [job.id]);
  return job;
}

/**
 * Records the end of every running job (or of those in `jobIds`) none of whose commands is
 * live any more: its final state and `finished_at`, with `job.finished`, once — the update
 * only applies to the state and attempt it read, so several instances settle a job once.
 * Resolves to the number of targets of the jobs it finished (what the jobs worker reports handling).
 */
export async function settleJobs(context: AppContext, jobIds?: readonly string[]): Promise<number> {
  await expireDueCommands(context);
  const done = await context.db
    .selectFrom('jobs as j')
    .selectAll('j')
    .where('j.state', '=', 'running')
    .$if(jobIds !== undefined, (qb) => qb.where('j.id', 'in', jobIds!.length > 0 ? jobIds! : ['']))
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('commands as c')
            .select('c.id')
            .whereRef('c.job_id', '=', 'j.id')
            .where('c.status', 'in', LIVE_STATUSES),
        ),
      ),
    )
    .orderBy('j.id')
    .limit(500)
    .execute();
  if (done.length === 0) return 0;
  const counts = await countTargets(
    context.db,
    done.map((job) => job.id),
  );
  let finishedTargets = 0;
  for (const job of done) {
    const jobCounts = counts.get(job.id)!;
    const state = finalState(job, jobCounts);
    const settled = await context.db.transaction().execute(async (trx) => {
      const updated = await trx
        .updateTable('jobs')
        .set({ state, finished_at: context.now().toISOString() })
        .where('id', '=', job.id)
        .where('state', '=', 'running')
        .where('attempt', '=', job.attempt)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) return false;
      await insertEvent(trx, context, {
        type: 'job.finished',
        severity: state === 'succeeded' || state === 'cancelled' ? 'info' : 'warning',
        siteId: await jobSiteId(trx, job.id),
        deviceId: null,
        message: `Job ${job.name} finished: ${state.replace('_', ' ')} (${jobCounts.succeeded} of ${jobCounts.total} succeeded).`,
        data: { job_id: job.id, name: job.name, attempt: job.attempt, state, counts: jobCounts },
      });
      return true;
    });
    if (!settled) continue;
    finishedTargets += jobCounts.total;
    context.signals.notify(jobTopic(job.id));
  }
  announceEvents(context);
  return finishedTargets;
}

/** Settles jobs in the background: whenever a command changes, and every sweep interval. */
export function startJobWorker(context: AppContext): Worker {
  return startWorker(context, 'jobs', {
    topics: [COMMANDS_CHANGED_TOPIC],
    intervalMs: context.fleet.sweepIntervalSeconds * 1000,
    pass: () => settleJobs(context),
  });
}

/** "Job job_…" or "Deployment dpl_…", as problems name it. */
const named = (subject: JobSubject): string =>
  `${subject.kind === 'job' ? 'Job' : 'Deployment'} ${subject.id}`;

/** Cancels the job's commands no agent has picked up, and marks it cancelled. 409 unless running. */
export async function cancelJob(
  context: AppContext,
  job: JobRow,
  subject: JobSubject = { kind: 'job', id: job.id },
): Promise<void> {
  const now = context.now().toISOString();
  const marked = await context.db
    .updateTable('jobs')
    .set({ cancelled_at: now })
    .where('id', '=', job.id)
    .where('state', '=', 'running')
    .executeTakeFirst();
  if (Number(marked.numUpdatedRows) === 0)
    throw problems.conflict(
      `${subject.kind}_finished`,
      `${named(subject)} has already finished; nothing is left to cancel.`,
    );
  const cancelled = await context.db
    .updateTable('commands')
    .set({ status: 'cancelled', finished_at: now })
    .where('job_id', '=', job.id)
    .where('status', '=', 'pending')
    .returning('id')
    .execute();
  for (const { id } of cancelled) commandChanged(context, id);
  await settleJobs(context, [job.id]);
}

/**
 * Starts another attempt of a finished job on its failed and expired targets: a new command
 * each, in one transaction with the job going back to running (only from the state and attempt
 * read, so two retries at once make one attempt). 409 while running or with nothing failed.
 */
export async function retryJob(
  context: AppContext,
  job: JobRow,
  subject: JobSubject = { kind: 'job', id: job.id },
): Promise<void> {
  if (job.state === 'running')
    throw problems.conflict(
      `${subject.kind}_running`,
      `${named(subject)} is still running; retry it once it has finished.`,
    );
  const failed = await context.db
    .selectFrom('job_targets as t')
    .innerJoin('commands as c', 'c.id', 't.command_id')
    .select(['t.device_id', 't.attempts'])
    .where('t.job_id', '=', job.id)
    .where('c.status', 'in', ['failed', 'expired'])
    .execute();
  if (failed.length === 0)
    throw problems.conflict(
      'no_failed_targets',
      `${named(subject)} has no failed or expired target to retry.`,
    );
  const params = JSON.parse(job.params) as Record<string, unknown>;
  // Blocked since the last attempt: no command, and unsupported from now on, saying why.
  const refused = await refusals(
    context,
    job.command_type,
    params,
    failed.map((target) => target.device_id),
  );
  const attempt = { ...job, attempt: job.attempt + 1, state: 'running' as const };
  const commands = failed
    .filter((target) => !refused.has(target.device_id))
    .map((target) =>
      newCommandRow(context, {
        deviceId: target.device_id,
        type: job.command_type,
        params,
        timeoutSeconds: job.timeout_seconds,
        createdBy: job.created_by,
        jobId: job.id,
      }),
    );
  const retried = await context.db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('jobs')
      .set({ state: 'running', attempt: attempt.attempt, finished_at: null, cancelled_at: null })
      .where('id', '=', job.id)
      .where('state', '=', job.state)
      .where('attempt', '=', job.attempt)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) return false;
    await insertChunked(trx, 'commands', commands);
    for (const [deviceId, reason] of refused)
      await trx
        .updateTable('job_targets')
        .set({ command_id: null, unsupported_reason: reason })
        .where('job_id', '=', job.id)
        .where('device_id', '=', deviceId)
        .execute();
    for (const command of commands)
      await trx
        .updateTable('job_targets')
        .set({ command_id: command.id, attempts: sql<number>`attempts + 1` })
        .where('job_id', '=', job.id)
        .where('device_id', '=', command.device_id)
        .execute();
    const counts = (await countTargets(trx, [job.id])).get(job.id)!;
    await insertEvent(trx, context, startedEvent(attempt, counts, await jobSiteId(trx, job.id)));
    return true;
  });
  if (!retried)
    throw problems.conflict(
      `${subject.kind}_running`,
      `${named(subject)} was retried by someone else a moment ago.`,
    );
  announceEvents(context);
  for (const row of commands) context.signals.notify(deviceCommandsTopic(row.device_id));
  if (commands.length === 0) await settleJobs(context, [job.id]);
}

/** A job's targets with their device and latest command, for `GET /v1/jobs/{id}/targets`. */
export function selectTargets(context: AppContext, jobId: string, state: JobTargetState | undefined) {
  return context.db
    .selectFrom('job_targets as t')
    .innerJoin('devices as d', 'd.id', 't.device_id')
    .leftJoin('commands as c', 'c.id', 't.command_id')
    .select([
      't.device_id as id',
      'd.name as device_name',
      'd.site_id',
      't.command_id',
      't.attempts',
      't.unsupported_reason',
      'c.status',
      'c.progress_percent',
      'c.progress_message',
      'c.progress_stage',
      'c.result',
      'c.started_at',
      'c.delivered_at',
      'c.finished_at',
    ])
    .where('t.job_id', '=', jobId)
    .$if(state === 'unsupported', (qb) => qb.where('t.command_id', 'is', null))
    .$if(state !== undefined && state !== 'unsupported', (qb) =>
      qb.where('c.status', '=', state as CommandStatus),
    );
}

type TargetRow = Awaited<ReturnType<ReturnType<typeof selectTargets>['execute']>>[number];

const tail = (text: string): string => (text.length > OUTPUT_TAIL ? text.slice(-OUTPUT_TAIL) : text);

export function toTargetResult(row: TargetRow) {
  const result =
    row.result === null
      ? null
      : (JSON.parse(row.result) as {
          exit_code: number | null;
          stdout: string;
          stderr: string;
          stdout_truncated: boolean;
          stderr_truncated: boolean;
          error: string | null;
        });
  const stdout = result?.stdout ?? '';
  const stderr = result?.stderr ?? '';
  return {
    device_id: row.id,
    device_name: row.device_name,
    site_id: row.site_id,
    state: (row.status ?? 'unsupported') as JobTargetState,
    command_id: row.command_id,
    attempts: row.attempts,
    exit_code: result?.exit_code ?? null,
    stdout: tail(stdout),
    stderr: tail(stderr),
    output_truncated:
      (result?.stdout_truncated ?? false) ||
      (result?.stderr_truncated ?? false) ||
      stdout.length > OUTPUT_TAIL ||
      stderr.length > OUTPUT_TAIL,
    error: result?.error ?? null,
    unsupported_reason: row.unsupported_reason,
    started_at: row.started_at ?? row.delivered_at ?? null,
    finished_at: row.finished_at ?? null,
  };
}

/**
 * Monitored processes and the desired configuration they are part of: what an agent is told to
 * do, and the version that tells it when to fetch that again.
 */
import { createHash } from 'node:crypto';
import type { z } from 'zod';
import type { AppContext } from '../context';
import type { Kysely } from 'kysely';
import type { AgentConfig, MonitoredProcess, ProcessSchedule } from '../generated/contract.gen';
import { problems } from '../http/problem';
import { cachePerServer } from '../runtime/credential-cache';
import type { Database, MonitoredProcessRow, ProcessStatesTable } from '../store/schema';

export type ProcessBody = z.infer<typeof MonitoredProcess>;
type Schedule = z.infer<typeof ProcessSchedule>;
type Reported = Pick<
  ProcessStatesTable,
  | 'state'
  | 'pid'
  | 'restart_count'
  | 'state_changed_at'
  | 'reported_at'
  | 'last_exit_code'
  | 'last_exit_signal'
  | 'last_exit_at'
>;
/** A monitored process with the state its agent last reported (all null before the first report). */
export type ProcessWithStateRow = MonitoredProcessRow & { [K in keyof Reported]: Reported[K] | null };

/** The monitored processes, each with its latest reported state. */
export function selectProcesses(db: Kysely<Database>) {
  return db
    .selectFrom('monitored_processes')
    .leftJoin('process_states', 'process_states.process_id', 'monitored_processes.id')
    .selectAll('monitored_processes')
    .select([
      'process_states.state',
      'process_states.pid',
      'process_states.restart_count',
      'process_states.state_changed_at',
      'process_states.reported_at',
      'process_states.last_exit_code',
      'process_states.last_exit_signal',
      'process_states.last_exit_at',
    ]);
}

/** The settings of a monitored process: what its agent is told, without what it reported. */
function settingsOf(row: MonitoredProcessRow) {
  return {
    id: row.id,
    device_id: row.device_id,
    name: row.name,
    executable_path: row.executable_path,
    arguments: JSON.parse(row.arguments) as string[],
    working_directory: row.working_directory,
    launch_mode: row.launch_mode,
    schedules: JSON.parse(row.schedules) as Schedule[],
    restart_delay_seconds: row.restart_delay_seconds,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function toProcess(row: ProcessWithStateRow): ProcessBody {
  return {
    ...settingsOf(row),
    state: row.state,
    pid: row.pid,
    restart_count: row.restart_count,
    state_changed_at: row.state_changed_at,
    reported_at: row.reported_at,
    last_exit:
      row.last_exit_at === null
        ? null
        : { exit_code: row.last_exit_code, signal: row.last_exit_signal, exited_at: row.last_exit_at },
  };
}

/** The rules a process must satisfy whole, whether created or changed. */
export function assertRunnable(process: Pick<ProcessBody, 'launch_mode' | 'schedules'>): void {
  if (process.launch_mode === 'scheduled' && process.schedules.length === 0) {
    throw problems.unprocessable(
      'schedule_required',
      'A process in launch mode scheduled needs at least one schedule.',
    );
  }
  const empty = process.schedules.findIndex((schedule) => schedule.start_time === schedule.end_time);
  if (empty >= 0)
    throw problems.unprocessable(
      'empty_schedule_window',
      `Schedule ${empty} starts and ends at the same time; a window needs a length.`,
    );
}

export async function assertNameFree(
  context: AppContext,
  deviceId: string,
  name: string,
  exceptId?: string,
): Promise<void> {
  const taken = await context.db
    .selectFrom('monitored_processes')
    .select('id')
    .where('device_id', '=', deviceId)
    .where('name_key', '=', name.toLowerCase())
    .executeTakeFirst();
  if (taken && taken.id !== exceptId)
    throw problems.nameTaken('process_name_taken', 'monitored process', name, ' on this device');
}

/**
 * The device's desired configuration. Its version is a hash of the settings alone, so the
 * states the agent reports do not make it fetch the configuration again.
 */
export async function desiredConfig(
  context: AppContext,
  deviceId: string,
): Promise<z.infer<typeof AgentConfig>> {
  const rows = await selectProcesses(context.db)
    .where('monitored_processes.device_id', '=', deviceId)
    .orderBy('monitored_processes.id')
    .execute();
  const settings = {
    heartbeat_interval_seconds: context.fleet.heartbeatIntervalSeconds,
    command_poll_wait_seconds: context.fleet.commandPollWaitSeconds,
    processes: rows.map(settingsOf),
  };
  const version = createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 16);
  return { device_id: deviceId, version, ...settings, processes: rows.map(toProcess) };
}

/**
 * Each device's configuration version as heartbeats answer it, kept for a few seconds like a
 * verified credential (runtime/credential-cache.ts): forgotten at once on this instance when one of
 * the device's monitored processes is created, changed or deleted (forgetConfigVersion); another
 * instance answers the new version within CREDENTIAL_CACHE_TTL_MS (3 s).
 */
const configVersions = cachePerServer<string>();

export async function configVersion(context: AppContext, deviceId: string): Promise<string> {
  const cache = configVersions(context);
  const known = cache.get(deviceId);
  if (known !== undefined) return known;
  const { stamp } = cache;
  const { version } = await desiredConfig(context, deviceId);
  cache.set(deviceId, version, stamp);
  return version;
}

export function forgetConfigVersion(context: AppContext, deviceId: string): void {
  configVersions(context).delete(deviceId);
}

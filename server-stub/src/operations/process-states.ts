/**
 * What agents report of their monitored processes: the latest state of each, kept with the time
 * the process last started running, went down or went idle, and the `process.started` /
 * `process.stopped` events those moments raise, and how each last ended. Each report is a
 * conditional write on the state it read, so a transition is recorded (and announced) once.
 */
import type { z } from 'zod';
import type { AppContext } from '../context';
import type { AgentProcessState } from '../generated/contract.gen';
import { announceEvents, insertEvent } from '../observe/events-store';
import type { ProcessState } from '../store/schema';
import { type ProcessWithStateRow, selectProcesses } from './processes-store';

type Report = z.infer<typeof AgentProcessState>;
type Phase = 'running' | 'down' | 'idle';

/** The states a `process_down` rule counts as not running. */
export const DOWN_STATES = ['starting', 'stopped', 'crashed'] as const satisfies readonly ProcessState[];

const phaseOf = (state: ProcessState): Phase => (state === 'running' || state === 'idle' ? state : 'down');

/** The event a move from `previous` (null: first report) to `next` raises, if any. */
function eventOf(previous: ProcessState | null, next: ProcessState) {
  const from = previous === null ? null : phaseOf(previous);
  const to = phaseOf(next);
  if (from === to) return undefined;
  if (to === 'running')
    return { type: 'process.started', severity: 'info', verb: 'started running' } as const;
  if (from === 'running' || (from === null && to === 'down'))
    return {
      type: 'process.stopped',
      severity: to === 'idle' ? 'info' : 'warning',
      verb: `stopped running (${next})`,
    } as const;
  return undefined;
}

/**
 * When the reported state began: the agent's `since` when it falls after the previous report
 * (which still saw the process otherwise) and not in the future, or else now.
 */
function startOf(report: Report, previousReportAt: string | null, now: string): string {
  const since = report.since === undefined ? undefined : new Date(report.since).toISOString();
  return since !== undefined && since <= now && (previousReportAt === null || since > previousReportAt)
    ? since
    : now;
}

/**
 * How the process last ended: the report's `last_exit` when it has one (its time as the agent
 * gave it, in UTC), else what was recorded before (an agent that restarted forgets its exits).
 */
function lastExitOf(
  report: Report,
  previous: Pick<ProcessWithStateRow, 'last_exit_code' | 'last_exit_signal' | 'last_exit_at'>,
) {
  const exit = report.last_exit;
  if (exit === undefined)
    return {
      last_exit_code: previous.last_exit_code,
      last_exit_signal: previous.last_exit_signal,
      last_exit_at: previous.last_exit_at,
    };
  return {
    last_exit_code: exit.exit_code,
    last_exit_signal: exit.signal,
    last_exit_at: new Date(exit.exited_at).toISOString(),
  };
}

/**
 * Records the process states of a heartbeat received at `now` (the last entry of a process
 * counts).
 */
export async function recordProcessStates(
  context: AppContext,
  deviceId: string,
  reports: readonly Report[] | undefined,
  now: string,
): Promise<void> {
  if (reports === undefined || reports.length === 0) return;
  const latest = new Map(reports.map((report) => [report.process_id, report]));
  const announced = await context.db.transaction().execute(async (trx) => {
    const device = await trx
      .selectFrom('devices')
      .select(['site_id', 'name'])
      .where('id', '=', deviceId)
      .executeTakeFirstOrThrow();
    const processes = await selectProcesses(trx)
      .where('monitored_processes.device_id', '=', deviceId)
      .where('monitored_processes.id', 'in', [...latest.keys()])
      .execute();
    let events = 0;
    for (const process of processes) {
      const report = latest.get(process.id)!;
      const samePhase = process.state !== null && phaseOf(process.state) === phaseOf(report.state);
      const values = {
        state: report.state,
        pid: report.pid ?? null,
        restart_count: report.restart_count ?? null,
        state_changed_at: samePhase ? process.state_changed_at! : startOf(report, process.reported_at, now),
        reported_at: now,
        ...lastExitOf(report, process),
      };
      const written =
        process.state === null
          ? await trx
              .insertInto('process_states')
              .values({ process_id: process.id, device_id: deviceId, ...values })
              .onConflict((oc) => oc.doNothing())
              .returning('process_id')
              .executeTakeFirst()
          : await trx
              .updateTable('process_states')
              .set(values)
              .where('process_id', '=', process.id)
              .where('state', '=', process.state)
              .where('reported_at', '=', process.reported_at!)
              .returning('process_id')
              .executeTakeFirst();
      const event = eventOf(process.state, report.state);
      if (!written || !event) continue;
      await insertEvent(trx, context, {
        type: event.type,
        severity: event.severity,
        siteId: device.site_id,
        deviceId,
        message: `${process.name} on ${device.name} ${event.verb}.`,
        data: {
          process_id: process.id,
          process_name: process.name,
          state: report.state,
          previous_state: process.state,
          pid: values.pid,
          restart_count: values.restart_count,
        },
      });
      events++;
    }
    return events > 0;
  });
  if (announced) announceEvents(context);
}

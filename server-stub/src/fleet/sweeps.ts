/**
 * Background upkeep, every `sweepIntervalSeconds` (through the context's timers): devices whose
 * heartbeats stopped go offline, commands and undecided or uncollected enrolment requests past
 * their deadline expire, and metric samples past their retention, old
 * wrong-code attempts and long-dead agent tokens are pruned; then the alert rules are evaluated
 * (observe/alert-evaluator.ts). Each step is a conditional update or delete, so several
 * instances sweeping the same database at once do each piece of work once; and a tick runs the
 * sweeps only if it claims the interval (runtime/ticks.ts), so of several instances one sweeps.
 */
import type { AppContext } from '../context';
import { evaluateAlertRules } from '../observe/alert-evaluator';
import { expireDueCommands } from '../operations/commands-store';
import { claimTick } from '../runtime/ticks';
import { sweepOfflineDevices } from './presence';

const WRONG_CODE_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
const DEAD_TOKEN_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
export const METRICS_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

export interface SweepReport {
  offline: number;
  expiredRequests: number;
  expiredCommands: number;
}

export async function runSweeps(context: AppContext): Promise<SweepReport> {
  const now = context.now();
  const offline = await sweepOfflineDevices(context);
  const expiredCommands = await expireDueCommands(context);
  const expired = await context.db
    .updateTable('enrollment_requests')
    .set({ status: 'expired' })
    .where('status', 'in', ['pending', 'approved'])
    .where('expires_at', '<=', now.toISOString())
    .executeTakeFirst();
  await context.db
    .deleteFrom('enrollment_requests')
    .where('status', '=', 'wrong_code')
    .where('created_at', '<', new Date(now.getTime() - WRONG_CODE_RETENTION_MS).toISOString())
    .execute();
  await context.db
    .deleteFrom('device_metrics')
    .where('recorded_at', '<', new Date(now.getTime() - METRICS_RETENTION_MS).toISOString())
    .execute();
  await context.db
    .deleteFrom('agent_tokens')
    .where('expires_at', '<', new Date(now.getTime() - DEAD_TOKEN_RETENTION_MS).toISOString())
    .execute();
  await context.metrics.pass(
    'alert-evaluation',
    () => evaluateAlertRules(context),
    (report) => report.opened + report.resolved,
  );
  return { offline, expiredRequests: Number(expired.numUpdatedRows), expiredCommands };
}

/** Runs the sweeps periodically, once per interval across instances, until the returned function is called. */
export function startSweeps(context: AppContext): () => void {
  const intervalMs = context.fleet.sweepIntervalSeconds * 1000;
  let stopped = false;
  let cancel = (): void => undefined;
  const schedule = (): void => {
    if (stopped) return;
    cancel = context.timers.set(
      intervalMs,
      async () => {
        try {
          if (!(await claimTick(context, 'sweeps', intervalMs))) return;
          await context.metrics.pass(
            'sweeps',
            () => runSweeps(context),
            (report) => report.offline + report.expiredRequests + report.expiredCommands,
          );
        } catch (error) {
          context.log.error({ err: error, worker: 'sweeps' }, 'background work failed: sweeps');
        } finally {
          schedule();
        }
      },
      'sweep',
    );
  };
  schedule();
  return () => {
    stopped = true;
    cancel();
  };
}

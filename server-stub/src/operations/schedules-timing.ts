/**
 * When a schedule runs: a cron expression in an IANA time zone (croner, which handles the
 * daylight-saving changes: a time that does not exist that day runs at the first moment after
 * the gap, a time that happens twice runs once, at its first occurrence), a fixed interval from
 * an anchor, or once at a given time.
 */
import { Cron } from 'croner';
import { type FieldIssue, problems } from '../http/problem';

export type Trigger =
  | { kind: 'cron'; cron: string; time_zone: string }
  | { kind: 'interval'; interval_seconds: number; anchor_at: string }
  | { kind: 'once'; run_at: string };

/** The canonical name of an IANA time zone the platform knows, or null. */
export function canonicalTimeZone(name: string): string | null {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/** Five fields (minute, hour, day of month, month, day of week) or a nickname such as `@weekly`. */
function cronOf(expression: string, timeZone: string): Cron {
  return new Cron(expression, { timezone: timeZone, mode: '5-part', paused: true });
}

/** Throws 422 naming the fields of a cron trigger that cannot be used (bad expression, unknown zone, never fires). */
export function assertValidCron(expression: string, timeZone: string, now: Date): void {
  const issues: FieldIssue[] = [];
  if (canonicalTimeZone(timeZone) === null)
    issues.push({ path: '/body/trigger/time_zone', message: `${timeZone} is not an IANA time zone.` });
  let cron: Cron | null = null;
  try {
    cron = cronOf(expression, 'UTC');
  } catch (error) {
    issues.push({ path: '/body/trigger/cron', message: (error as Error).message.slice(0, 300) });
  }
  if (issues.length > 0)
    throw problems.unprocessable(
      'schedule_trigger_invalid',
      'The trigger cannot be used: see errors.',
      issues,
    );
  if (cron!.nextRun(now) === null)
    throw problems.unprocessable('schedule_trigger_invalid', 'The trigger never fires.', [
      { path: '/body/trigger/cron', message: `${expression} matches no date.` },
    ]);
}

/** The first run of `trigger` strictly after `after`, or null when it runs no more. */
export function nextRunAfter(trigger: Trigger, after: Date): Date | null {
  switch (trigger.kind) {
    case 'cron':
      return cronOf(trigger.cron, trigger.time_zone).nextRun(after);
    case 'interval': {
      const anchor = Date.parse(trigger.anchor_at);
      const every = trigger.interval_seconds * 1000;
      const periods = Math.max(1, Math.floor((after.getTime() - anchor) / every) + 1);
      return new Date(anchor + periods * every);
    }
    case 'once':
      return Date.parse(trigger.run_at) > after.getTime() ? new Date(trigger.run_at) : null;
  }
}

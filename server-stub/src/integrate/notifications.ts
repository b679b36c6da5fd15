/**
 * Notifications about incidents, never lost and sent once:
 *
 * - The outbox: `enqueueNotifications` writes one notification per enabled channel the incident's
 *   rule names, in the transaction that records the incident event (observe/events-store.ts
 *   `insertEvent`).
 * - The worker claims due notifications with a conditional update that takes a lease
 *   (`lease_until`), so with several instances on one database only one sends each attempt.
 * - A failed attempt is retried after 1 min, 5 min, 30 min and 2 h; after the last the
 *   notification is `failed` and stays listed.
 */
import type { Kysely } from 'kysely';
import type { AppContext } from '../context';
import { EVENTS_TOPIC } from '../observe/events-store';
import { startWorker, type Worker } from '../runtime/worker';
import { newId } from '../store/ids';
import type { Database, EventRow, NotificationRow } from '../store/schema';
import { sendEmail } from './email';
import { openCredentials, smtpSettings } from './notification-channels-store';

/** Seconds to wait before each attempt after a failed one (the first attempt is at once). */
export const NOTIFICATION_RETRY_DELAYS_SECONDS = [60, 5 * 60, 30 * 60, 2 * 3600] as const;
export const NOTIFICATION_ATTEMPTS = NOTIFICATION_RETRY_DELAYS_SECONDS.length + 1;
/** How long a claim holds a notification (beyond the SMTP timeouts of one send). */
const LEASE_MS = 60_000;
const CLAIM_BATCH = 20;
const POLL_INTERVAL_MS = 1000;

const iso = (ms: number): string => new Date(ms).toISOString();

/** Writes, with `db` (the event's transaction), one notification of an incident event per channel of its rule. */
export async function enqueueNotifications(db: Kysely<Database>, event: EventRow): Promise<void> {
  if (!event.type.startsWith('incident.')) return;
  const data = JSON.parse(event.data) as { incident_id: string; rule_id: string };
  const rule = await db
    .selectFrom('alert_rules')
    .select(['name', 'channel_ids'])
    .where('id', '=', data.rule_id)
    .executeTakeFirst();
  const channelIds = rule ? (JSON.parse(rule.channel_ids) as string[]) : [];
  if (channelIds.length === 0) return;
  const channels = await db
    .selectFrom('notification_channels')
    .select('id')
    .where('id', 'in', channelIds)
    .where('enabled', '=', 1)
    .execute();
  if (channels.length === 0) return;
  const what = event.type.slice('incident.'.length);
  await db
    .insertInto('notifications')
    .values(
      channels.map((channel) => ({
        id: newId('ntf'),
        channel_id: channel.id,
        event_id: event.id,
        event_type: event.type,
        incident_id: data.incident_id,
        subject: `[Meridian] Incident ${what}: ${rule!.name}`.slice(0, 500),
        body: [
          event.message,
          '',
          `Incident: ${data.incident_id}`,
          `Severity: ${event.severity}`,
          ...(event.site_id ? [`Site: ${event.site_id}`] : []),
          ...(event.device_id ? [`Device: ${event.device_id}`] : []),
          `At: ${event.created_at}`,
          '',
        ].join('\n'),
        state: 'pending' as const,
        attempt_count: 0,
        last_error: null,
        next_attempt_at: event.created_at,
        lease_until: null,
        sent_at: null,
        created_at: event.created_at,
      })),
    )
    .execute();
}

/** Takes the notification for one attempt if it is still due and nobody else holds it. */
async function claim(context: AppContext, notification: NotificationRow): Promise<boolean> {
  const now = context.now().getTime();
  const result = await context.db
    .updateTable('notifications')
    .set({ lease_until: iso(now + LEASE_MS) })
    .where('id', '=', notification.id)
    .where('state', '=', 'pending')
    .where('attempt_count', '=', notification.attempt_count)
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', iso(now))]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Sends a claimed notification once and records the outcome, scheduling the next attempt if it failed. */
async function attempt(context: AppContext, notification: NotificationRow): Promise<void> {
  const channel = await context.db
    .selectFrom('notification_channels')
    .selectAll()
    .where('id', '=', notification.channel_id)
    .executeTakeFirst();
  if (!channel) return;
  const outcome = await sendEmail(context, smtpSettings(channel), openCredentials(context, channel), {
    subject: notification.subject,
    text: notification.body,
  });
  const attempts = notification.attempt_count + 1;
  const exhausted = attempts >= NOTIFICATION_ATTEMPTS;
  const now = context.now().getTime();
  await context.db
    .updateTable('notifications')
    .set({
      attempt_count: attempts,
      lease_until: null,
      last_error: outcome.error,
      state: outcome.delivered ? 'sent' : exhausted ? 'failed' : 'pending',
      sent_at: outcome.delivered ? iso(now) : null,
      next_attempt_at:
        outcome.delivered || exhausted
          ? null
          : iso(now + NOTIFICATION_RETRY_DELAYS_SECONDS[attempts - 1]! * 1000),
    })
    .where('id', '=', notification.id)
    .where('attempt_count', '=', notification.attempt_count)
    .execute();
}

/** Sends every notification that is due; returns how many attempts were made. */
export async function sendDueNotifications(context: AppContext): Promise<number> {
  let made = 0;
  for (;;) {
    const now = context.now().toISOString();
    const due = await context.db
      .selectFrom('notifications')
      .selectAll()
      .where('state', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now)]))
      .orderBy('next_attempt_at')
      .limit(CLAIM_BATCH)
      .execute();
    const claimed = [];
    for (const notification of due) if (await claim(context, notification)) claimed.push(notification);
    await Promise.all(claimed.map((notification) => attempt(context, notification)));
    made += claimed.length;
    if (due.length < CLAIM_BATCH) return made;
  }
}

/** Sends in the background: a pass when events are recorded and every second for retries. */
export function startNotificationWorker(context: AppContext): Worker {
  return startWorker(context, 'notifications', {
    topics: [EVENTS_TOPIC],
    intervalMs: POLL_INTERVAL_MS,
    pass: () => sendDueNotifications(context),
  });
}

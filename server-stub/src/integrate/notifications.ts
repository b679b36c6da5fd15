/**
 * Notifications about incidents, never lost and sent once:
 *
 * - The outbox: `enqueueNotifications` writes one notification per enabled channel the incident's
 *   rule names, in the transaction that records the incident event (observe/events-store.ts
 *   `insertEvent`).
 * - E-mail: the worker claims due notifications with a conditional update that takes a lease
 *   (`lease_until`), so with several instances on one database only one sends each attempt.
 *   A failed attempt is retried after 1 min, 5 min, 30 min and 2 h; after the last the
 *   notification is `failed` and stays listed.
 * - Webhook channels have no sender of their own: the notification is a webhook delivery to the
 *   channel's endpoint, written in the same transaction (webhook-deliveries.ts
 *   `enqueueDeliveryTo`) and sent by the webhook worker (signed, retried on its schedule, the
 *   same `webhook-id` every time). The notification's own state is never updated: it is read
 *   from the delivery (`notificationsPage`), so the two cannot disagree.
 */
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { AppContext } from '../context';
import type { Notification, NotificationTestResult } from '../generated/contract.gen';
import { type Page, type PageParams, paginate } from '../http/pagination';
import { EVENTS_TOPIC } from '../observe/events-store';
import { startWorker, type Worker } from '../runtime/worker';
import { newId } from '../store/ids';
import type {
  Database,
  EventRow,
  NotificationRow,
  NotificationState,
  WebhookAttemptRow,
  WebhookDeliveryState,
} from '../store/schema';
import { sendEmail } from './email';
import { attemptNow, createTestDelivery, enqueueDeliveryTo } from './webhook-deliveries';
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
    .leftJoin('webhooks', 'webhooks.id', 'notification_channels.webhook_id')
    .select([
      'notification_channels.id',
      'notification_channels.webhook_id',
      'webhooks.enabled as endpoint_enabled',
    ])
    .where('notification_channels.id', 'in', channelIds)
    .where('notification_channels.enabled', '=', 1)
    .execute();
  if (channels.length === 0) return;
  const what = event.type.slice('incident.'.length);
  const outcomes = new Map<
    string,
    Pick<NotificationRow, 'webhook_delivery_id' | 'state' | 'last_error' | 'next_attempt_at'>
  >();
  for (const channel of channels)
    if (channel.webhook_id !== null)
      outcomes.set(
        channel.id,
        channel.endpoint_enabled === 1
          ? {
              webhook_delivery_id: await enqueueDeliveryTo(db, channel.webhook_id, event),
              state: 'pending',
              last_error: null,
              // Never due for the e-mail worker: the webhook worker sends the delivery.
              next_attempt_at: null,
            }
          : {
              webhook_delivery_id: null,
              state: 'failed',
              last_error: `Not sent: the webhook endpoint ${channel.webhook_id} is disabled.`,
              next_attempt_at: null,
            },
      );
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
        webhook_delivery_id: null,
        state: 'pending' as const,
        attempt_count: 0,
        last_error: null,
        next_attempt_at: event.created_at,
        ...outcomes.get(channel.id),
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
      .where('webhook_delivery_id', 'is', null)
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

/** The notification state a webhook delivery's state amounts to. */
const NOTIFICATION_STATES: Record<WebhookDeliveryState, NotificationState> = {
  pending: 'pending',
  delivered: 'sent',
  failed: 'failed',
};

/** The delivery state that amounts to notification state `state`. */
const deliveryState = (state: NotificationState): WebhookDeliveryState =>
  (Object.keys(NOTIFICATION_STATES) as WebhookDeliveryState[]).find(
    (delivery) => NOTIFICATION_STATES[delivery] === state,
  )!;

/** Why an attempt failed: its error, or the endpoint's status and the start of its answer. */
export const attemptError = (attempt: WebhookAttemptRow): string =>
  (attempt.error ?? `HTTP ${attempt.status_code}: ${attempt.response_body}`).slice(0, 1000);

/**
 * A page of GET /v1/notifications. A notification to a webhook channel shows its delivery's
 * outcome: its state, attempts and next attempt, and the last attempt's error or time.
 */
export async function notificationsPage(
  context: AppContext,
  query: PageParams & {
    channel_id?: string | undefined;
    incident_id?: string | undefined;
    state?: NotificationState | undefined;
  },
): Promise<Page<z.infer<typeof Notification>>> {
  const { state } = query;
  const select = context.db
    .selectFrom('notifications as n')
    .leftJoin('webhook_deliveries as d', 'd.id', 'n.webhook_delivery_id')
    .selectAll('n')
    .select([
      'd.state as delivery_state',
      'd.attempt_count as delivery_attempt_count',
      'd.next_attempt_at as delivery_next_attempt_at',
    ])
    .$if(query.channel_id !== undefined, (qb) => qb.where('n.channel_id', '=', query.channel_id!))
    .$if(query.incident_id !== undefined, (qb) => qb.where('n.incident_id', '=', query.incident_id!))
    .$if(state !== undefined, (qb) =>
      qb.where((eb) =>
        eb.or([
          eb.and([eb('d.id', 'is', null), eb('n.state', '=', state!)]),
          eb('d.state', '=', deliveryState(state!)),
        ]),
      ),
    );
  const page = await paginate(query, select, (row) => row, 'n.id');
  const deliveryIds = page.data.flatMap((row) =>
    row.webhook_delivery_id === null ? [] : [row.webhook_delivery_id],
  );
  const attempts =
    deliveryIds.length === 0
      ? []
      : await context.db
          .selectFrom('webhook_attempts')
          .selectAll()
          .where('delivery_id', 'in', deliveryIds)
          .orderBy('attempted_at')
          .orderBy('id')
          .execute();
  const lastAttempt = new Map(attempts.map((attempt) => [attempt.delivery_id, attempt]));
  return {
    ...page,
    data: page.data.map((row) => {
      const own = {
        id: row.id,
        channel_id: row.channel_id,
        event_id: row.event_id,
        event_type: row.event_type,
        incident_id: row.incident_id,
        webhook_delivery_id: row.webhook_delivery_id,
        subject: row.subject,
        state: row.state,
        attempt_count: row.attempt_count,
        last_error: row.last_error,
        next_attempt_at: row.next_attempt_at,
        sent_at: row.sent_at,
        created_at: row.created_at,
      };
      if (row.delivery_state === null) return own;
      const last = lastAttempt.get(row.webhook_delivery_id!);
      const sent = row.delivery_state === 'delivered';
      return {
        ...own,
        state: NOTIFICATION_STATES[row.delivery_state],
        attempt_count: row.delivery_attempt_count!,
        next_attempt_at: row.delivery_next_attempt_at,
        last_error: sent || last === undefined ? null : attemptError(last),
        sent_at: sent ? (last?.attempted_at ?? null) : null,
      };
    }),
  };
}

/** The test of a webhook channel: a `webhook.test` delivery to its endpoint, attempted once now. */
export async function sendWebhookTest(
  context: AppContext,
  webhookId: string,
): Promise<z.infer<typeof NotificationTestResult>> {
  const delivery = await createTestDelivery(context, webhookId);
  await attemptNow(context, delivery);
  const attempt = await context.db
    .selectFrom('webhook_attempts')
    .selectAll()
    .where('delivery_id', '=', delivery.id)
    .executeTakeFirstOrThrow();
  const delivered = attempt.status_code !== null && attempt.status_code >= 200 && attempt.status_code < 300;
  return { delivered, latency_ms: attempt.latency_ms, error: delivered ? null : attemptError(attempt) };
}

/**
 * Webhook delivery, at least once and never lost:
 *
 * - The outbox: `enqueueDeliveries` writes one delivery per matching enabled endpoint in the
 *   transaction that records the event (observe/events-store.ts `insertEvent`), so an event and
 *   its deliveries are committed together or not at all.
 * - The worker claims due deliveries with a conditional update that takes a lease
 *   (`lease_until`), so with several instances on one database only one sends each attempt; if
 *   the instance dies mid-attempt the lease runs out and another sends it again, with the same
 *   `webhook-id` (the delivery's ID) and body.
 * - Each attempt is a Standard Webhooks POST: 10 s timeout by default (on the context's timers), no redirects
 *   followed, at most 1 KiB of the answer kept, the target's address checked again first. A failed
 *   attempt is retried like Svix does: after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h, each
 *   with ±20 % jitter; after the last the delivery is `failed`. An endpoint whose deliveries have
 *   all failed for 5 days is disabled, and a `webhook.disabled` event says so.
 */
import { createHmac } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AppContext } from '../context';
import { announceEvents, EVENTS_TOPIC, insertEvent, toEvent } from '../observe/events-store';
import { startWorker, type Worker } from '../runtime/worker';
import { newId } from '../store/ids';
import type { Database, EventRow, WebhookDeliveryRow, WebhookRow } from '../store/schema';
import { openWebhookSecret } from './webhook-secrets';
import { checkTarget } from './webhook-targets';

/** Seconds to wait before each attempt after a failed one (the first attempt is at once). */
export const RETRY_DELAYS_SECONDS = [5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600] as const;
export const ATTEMPTS = RETRY_DELAYS_SECONDS.length + 1;
/** How long a claim holds a delivery beyond the attempt's timeout; after that another instance may retry it. */
const LEASE_MARGIN_MS = 5000;
export const RESPONSE_BYTES_KEPT = 1024;
const CLAIM_BATCH = 20;
/** An endpoint with no successful delivery and failed ones for this long is disabled. */
export const DISABLE_AFTER_FAILING_MS = 5 * 24 * 60 * 60 * 1000;
/** How often the worker looks for due retries (new events wake it at once). */
const POLL_INTERVAL_MS = 1000;

/** Wakes the worker: deliveries were scheduled (new events wake it through the events topic). */
export const DELIVERIES_TOPIC = 'webhook-deliveries';

const iso = (ms: number): string => new Date(ms).toISOString();

/** The Standard Webhooks body of a delivery. */
function payload(type: string, timestamp: string, data: unknown): string {
  return JSON.stringify({ type, timestamp, data });
}

/** Writes, with `db` (the event's transaction), one delivery of `event` per matching enabled endpoint. */
export async function enqueueDeliveries(db: Kysely<Database>, event: EventRow): Promise<void> {
  const endpoints = await db
    .selectFrom('webhooks')
    .select(['id', 'event_types'])
    .where('enabled', '=', 1)
    .where((eb) =>
      event.site_id === null
        ? eb('site_id', 'is', null)
        : eb.or([eb('site_id', 'is', null), eb('site_id', '=', event.site_id)]),
    )
    .execute();
  const matching = endpoints.filter(
    (endpoint) =>
      endpoint.event_types === null || (JSON.parse(endpoint.event_types) as string[]).includes(event.type),
  );
  if (matching.length === 0) return;
  const body = payload(event.type, event.created_at, toEvent(event));
  await db
    .insertInto('webhook_deliveries')
    .values(
      matching.map((endpoint) => newDelivery(endpoint.id, event.id, event.type, body, event.created_at)),
    )
    .execute();
}

function newDelivery(
  webhookId: string,
  eventId: string | null,
  eventType: string,
  body: string,
  now: string,
  attemptsAllowed: number = ATTEMPTS,
) {
  return {
    id: newId('dlv'),
    webhook_id: webhookId,
    event_id: eventId,
    event_type: eventType,
    payload: body,
    state: 'pending' as const,
    attempt_count: 0,
    attempts_allowed: attemptsAllowed,
    next_attempt_at: now,
    lease_until: null,
    created_at: now,
  };
}

/** Writes a `webhook.test` delivery to one endpoint, attempted once. */
export async function createTestDelivery(
  context: AppContext,
  webhookId: string,
): Promise<WebhookDeliveryRow> {
  const now = context.now().toISOString();
  const row = newDelivery(
    webhookId,
    null,
    'webhook.test',
    payload('webhook.test', now, { webhook_id: webhookId, message: 'A test event from Meridian.' }),
    now,
    1,
  );
  await context.db.insertInto('webhook_deliveries').values(row).execute();
  return row;
}

/**
 * Takes the delivery for one attempt if it is still due and nobody else holds it (a conditional
 * update: of several instances racing for it, one wins).
 */
async function claim(context: AppContext, delivery: WebhookDeliveryRow): Promise<boolean> {
  const now = context.now().getTime();
  const result = await context.db
    .updateTable('webhook_deliveries')
    .set({ lease_until: iso(now + context.webhooks.attemptTimeoutSeconds * 1000 + LEASE_MARGIN_MS) })
    .where('id', '=', delivery.id)
    .where('state', '=', 'pending')
    .where('attempt_count', '=', delivery.attempt_count)
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', iso(now))]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** `v1,<signature>` with the current secret, and with the previous one while it still signs. */
function signatures(context: AppContext, endpoint: WebhookRow, content: string): string {
  const secrets = [endpoint.secret];
  if (endpoint.previous_secret !== null && endpoint.previous_secret_expires_at! > context.now().toISOString())
    secrets.push(endpoint.previous_secret);
  return secrets
    .map((sealed) => {
      const key = Buffer.from(openWebhookSecret(context, sealed).slice('whsec_'.length), 'base64');
      return `v1,${createHmac('sha256', key).update(content).digest('base64')}`;
    })
    .join(' ');
}

/** The first `RESPONSE_BYTES_KEPT` bytes of an answer; the rest is never read. */
async function firstBytes(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < RESPONSE_BYTES_KEPT) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
  }
  await reader.cancel().catch(() => undefined);
  return Buffer.concat(chunks).subarray(0, RESPONSE_BYTES_KEPT).toString('utf8');
}

interface Outcome {
  status_code: number | null;
  response_body: string;
  error: string | null;
}

/** One POST of the delivery to the endpoint. */
async function send(
  context: AppContext,
  endpoint: WebhookRow,
  delivery: WebhookDeliveryRow,
): Promise<Outcome> {
  const target = await checkTarget(context, endpoint.url);
  if (!target.allowed) return { status_code: null, response_body: '', error: `Not sent: ${target.reason}.` };
  const timestamp = String(Math.floor(context.now().getTime() / 1000));
  const abort = new AbortController();
  const { attemptTimeoutSeconds } = context.webhooks;
  const cancelTimeout = context.timers.set(
    attemptTimeoutSeconds * 1000,
    () => abort.abort(new Error(`no answer within ${attemptTimeoutSeconds} s`)),
    'webhook-timeout',
  );
  try {
    const response = await fetch(endpoint.url, {
      method: 'POST',
      redirect: 'manual',
      signal: abort.signal,
      headers: {
        'content-type': 'application/json',
        'user-agent': `Meridian-Webhooks/${context.version}`,
        'webhook-id': delivery.id,
        'webhook-timestamp': timestamp,
        'webhook-signature': signatures(context, endpoint, `${delivery.id}.${timestamp}.${delivery.payload}`),
      },
      body: delivery.payload,
    });
    return { status_code: response.status, response_body: await firstBytes(response), error: null };
  } catch (error) {
    const reason = abort.signal.aborted ? abort.signal.reason : ((error as Error).cause ?? error);
    return {
      status_code: null,
      response_body: '',
      error: String((reason as Error).message ?? reason).slice(0, 500),
    };
  } finally {
    cancelTimeout();
  }
}

/** The delay before the attempt after `attempts` failed ones, with ±20 % jitter. */
function retryDelayMs(attempts: number): number {
  const base = RETRY_DELAYS_SECONDS[Math.min(attempts, RETRY_DELAYS_SECONDS.length) - 1]! * 1000;
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/**
 * Disables the endpoint (in `trx`, with a `webhook.disabled` event) if its deliveries have all
 * failed since a delivery that failed for good was created at least 5 days ago.
 */
async function disableIfFailingForDays(
  trx: Kysely<Database>,
  context: AppContext,
  endpoint: WebhookRow,
): Promise<boolean> {
  const lastSuccess = await trx
    .selectFrom('webhook_attempts')
    .innerJoin('webhook_deliveries', 'webhook_deliveries.id', 'webhook_attempts.delivery_id')
    .select((eb) => eb.fn.max('webhook_attempts.attempted_at').as('at'))
    .where('webhook_deliveries.webhook_id', '=', endpoint.id)
    .where('webhook_attempts.status_code', '>=', 200)
    .where('webhook_attempts.status_code', '<', 300)
    .executeTakeFirst();
  const since = (lastSuccess?.at as string | null | undefined) ?? null;
  const firstFailure = await trx
    .selectFrom('webhook_deliveries')
    .select((eb) => eb.fn.min('created_at').as('at'))
    .where('webhook_id', '=', endpoint.id)
    .where('state', '=', 'failed')
    .$if(since !== null, (qb) => qb.where('created_at', '>', since!))
    .executeTakeFirst();
  const failingSince = firstFailure?.at as string | null | undefined;
  const now = context.now();
  if (!failingSince || Date.parse(failingSince) > now.getTime() - DISABLE_AFTER_FAILING_MS) return false;
  const disabled = await trx
    .updateTable('webhooks')
    .set((eb) => ({ enabled: 0, version: eb('version', '+', 1), updated_at: now.toISOString() }))
    .where('id', '=', endpoint.id)
    .where('enabled', '=', 1)
    .executeTakeFirst();
  if (Number(disabled.numUpdatedRows) === 0) return false;
  await insertEvent(trx, context, {
    type: 'webhook.disabled',
    severity: 'warning',
    siteId: null,
    deviceId: null,
    message: `Webhook endpoint ${endpoint.url} was disabled: every delivery to it failed since ${failingSince}.`,
    data: { webhook_id: endpoint.id, url: endpoint.url, failing_since: failingSince },
  });
  return true;
}

/** Makes one attempt of a claimed delivery and records it, scheduling the next if it failed. */
async function attempt(context: AppContext, delivery: WebhookDeliveryRow): Promise<void> {
  const endpoint = await context.db
    .selectFrom('webhooks')
    .selectAll()
    .where('id', '=', delivery.webhook_id)
    .executeTakeFirst();
  if (!endpoint) return;
  const started = context.now();
  const startedAt = performance.now();
  const outcome = await send(context, endpoint, delivery);
  const latency = Math.round(performance.now() - startedAt);
  const delivered = outcome.status_code !== null && outcome.status_code >= 200 && outcome.status_code < 300;
  const attempts = delivery.attempt_count + 1;
  const exhausted = attempts >= delivery.attempts_allowed;
  const disabled = await context.db.transaction().execute(async (trx) => {
    await trx
      .insertInto('webhook_attempts')
      .values({
        id: newId('wat'),
        delivery_id: delivery.id,
        attempted_at: started.toISOString(),
        latency_ms: latency,
        ...outcome,
      })
      .execute();
    await trx
      .updateTable('webhook_deliveries')
      .set({
        attempt_count: attempts,
        lease_until: null,
        state: delivered ? 'delivered' : exhausted ? 'failed' : 'pending',
        next_attempt_at:
          delivered || exhausted ? null : iso(context.now().getTime() + retryDelayMs(attempts)),
      })
      .where('id', '=', delivery.id)
      .where('attempt_count', '=', delivery.attempt_count)
      .execute();
    return !delivered && exhausted && (await disableIfFailingForDays(trx, context, endpoint));
  });
  if (disabled) announceEvents(context);
}

/** Claims and attempts one delivery (the test send); false if it was not due or someone else has it. */
export async function attemptNow(context: AppContext, delivery: WebhookDeliveryRow): Promise<boolean> {
  if (!(await claim(context, delivery))) return false;
  await attempt(context, delivery);
  return true;
}

/** Attempts every delivery that is due (of enabled endpoints); returns how many attempts were made. */
export async function deliverDue(context: AppContext): Promise<number> {
  let made = 0;
  for (;;) {
    const now = context.now().toISOString();
    const due = await context.db
      .selectFrom('webhook_deliveries')
      .innerJoin('webhooks', 'webhooks.id', 'webhook_deliveries.webhook_id')
      .selectAll('webhook_deliveries')
      .where('webhook_deliveries.state', '=', 'pending')
      .where('webhook_deliveries.next_attempt_at', '<=', now)
      .where((eb) =>
        eb.or([
          eb('webhook_deliveries.lease_until', 'is', null),
          eb('webhook_deliveries.lease_until', '<=', now),
        ]),
      )
      .where('webhooks.enabled', '=', 1)
      .orderBy('webhook_deliveries.next_attempt_at')
      .limit(CLAIM_BATCH)
      .execute();
    const claimed = [];
    for (const delivery of due) if (await claim(context, delivery)) claimed.push(delivery);
    await Promise.all(claimed.map((delivery) => attempt(context, delivery)));
    made += claimed.length;
    if (due.length < CLAIM_BATCH) return made;
  }
}

/** Delivers in the background: a pass when events are recorded and every `POLL_INTERVAL_MS` for retries. */
export function startWebhookWorker(context: AppContext): Worker {
  return startWorker(context, 'webhook-deliveries', {
    topics: [EVENTS_TOPIC, DELIVERIES_TOPIC],
    intervalMs: POLL_INTERVAL_MS,
    pass: () => deliverDue(context),
  });
}

/**
 * Webhook delivery, at least once and never lost:
 *
 * - The outbox: `enqueueDeliveries` writes one delivery per matching enabled endpoint in the
 *   transaction that records the event (observe/events-store.ts `insertEvent`), so an event and
 *   its deliveries are committed together or not at all.
 * - The worker, woken by new events, claims due deliveries in batches with a conditional update
 *   that takes a lease (`lease_until`) long enough for the whole batch, so with several instances
 *   on one database only one sends each attempt; if the instance dies mid-batch the lease runs
 *   out and another sends them again, with the same `webhook-id` (the delivery's ID) and body.
 *   A batch is sent `DELIVERY_CONCURRENCY` attempts at a time over keep-alive connections, each
 *   endpoint read and its secrets unsealed once, each host name checked once; its outcomes are
 *   recorded in one transaction.
 * - Each attempt is a Standard Webhooks POST: 10 s timeout by default (on the context's timers), no redirects
 *   followed, at most 1 KiB of the answer kept, the target's address checked again first and the
 *   connection made to the very address checked (DNS rebinding). A failed
 *   attempt is retried like Svix does: after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h, each
 *   with ±20 % jitter; after the last the delivery is `failed`. An endpoint whose deliveries have
 *   all failed for 5 days is disabled, and a `webhook.disabled` event says so.
 */
import { createHmac } from 'node:crypto';
import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { ExpressionBuilder, Kysely } from 'kysely';
import type { AppContext } from '../context';
import { announceEvents, EVENTS_TOPIC, insertEvent, toEvent } from '../observe/events-store';
import { startWorker, type Worker } from '../runtime/worker';
import { newId } from '../store/ids';
import type { Database, EventRow, WebhookDeliveryRow, WebhookRow } from '../store/schema';
import { openWebhookSecret } from './webhook-secrets';
import { checkTarget, type TargetVerdict } from './webhook-targets';

/** Seconds to wait before each attempt after a failed one (the first attempt is at once). */
export const RETRY_DELAYS_SECONDS = [5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600] as const;
export const ATTEMPTS = RETRY_DELAYS_SECONDS.length + 1;
/** How long a claim holds a delivery beyond the attempt's timeout; after that another instance may retry it. */
const LEASE_MARGIN_MS = 5000;
export const RESPONSE_BYTES_KEPT = 1024;
/** Deliveries a worker pass claims at once. */
const CLAIM_BATCH = 100;
/**
 * Attempts of a batch in flight at once, over keep-alive connections (at most this many to one
 * address). The fan-out bench gives its plain node:http baseline as many.
 */
export const DELIVERY_CONCURRENCY = 20;
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

/**
 * The delivery of `event` to one endpoint, written with `db` (the event's transaction) unless
 * `enqueueDeliveries` already wrote it (the endpoint subscribes to the event); returns its ID.
 * Used by notification channels of kind `webhook`, which deliver to their endpoint whatever it
 * subscribes to.
 */
export async function enqueueDeliveryTo(
  db: Kysely<Database>,
  webhookId: string,
  event: EventRow,
): Promise<string> {
  const written = await db
    .selectFrom('webhook_deliveries')
    .select('id')
    .where('webhook_id', '=', webhookId)
    .where('event_id', '=', event.id)
    .executeTakeFirst();
  if (written) return written.id;
  const delivery = newDelivery(
    webhookId,
    event.id,
    event.type,
    payload(event.type, event.created_at, toEvent(event)),
    event.created_at,
  );
  await db.insertInto('webhook_deliveries').values(delivery).execute();
  return delivery.id;
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

/** Pending and held by nobody (never claimed, or whoever claimed it let its lease run out). */
const claimable = (eb: ExpressionBuilder<Database, 'webhook_deliveries'>, now: string) =>
  eb.and([eb('state', '=', 'pending'), eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now)])]);

/**
 * The lease of `count` deliveries claimed together: long enough for their attempts, made
 * `DELIVERY_CONCURRENCY` at a time and each ended by the timeout, to be recorded.
 */
function leaseUntil(context: AppContext, now: number, count: number): string {
  const rounds = Math.ceil(count / DELIVERY_CONCURRENCY);
  return iso(now + rounds * context.webhooks.attemptTimeoutSeconds * 1000 + LEASE_MARGIN_MS);
}

/**
 * Takes up to `CLAIM_BATCH` due deliveries of enabled endpoints for one attempt each: a conditional
 * update leases them, so of several instances racing for a delivery one gets it (on PostgreSQL
 * the others skip the rows it holds locked).
 */
async function claimDue(context: AppContext): Promise<WebhookDeliveryRow[]> {
  const now = context.now().getTime();
  return context.db.transaction().execute(async (trx) => {
    const due = await trx
      .selectFrom('webhook_deliveries')
      .select('id')
      .where((eb) => claimable(eb, iso(now)))
      .where('next_attempt_at', '<=', iso(now))
      .where('webhook_id', 'in', (eb) => eb.selectFrom('webhooks').select('id').where('enabled', '=', 1))
      .orderBy('next_attempt_at')
      .limit(CLAIM_BATCH)
      .$if(context.engine === 'postgres', (qb) => qb.forUpdate().skipLocked())
      .execute();
    if (due.length === 0) return [];
    return trx
      .updateTable('webhook_deliveries')
      .set({ lease_until: leaseUntil(context, now, due.length) })
      .where(
        'id',
        'in',
        due.map((row) => row.id),
      )
      .where((eb) => claimable(eb, iso(now)))
      .returningAll()
      .execute();
  });
}

/** An endpoint as a batch of attempts uses it: read once, its signing keys unsealed once. */
interface Endpoint {
  row: WebhookRow;
  /** The current secret's key, and the previous one's while it still signs. */
  keys: Buffer[];
}

async function endpointsOf(
  context: AppContext,
  deliveries: readonly WebhookDeliveryRow[],
): Promise<Map<string, Endpoint>> {
  const rows = await context.db
    .selectFrom('webhooks')
    .selectAll()
    .where('id', 'in', [...new Set(deliveries.map((delivery) => delivery.webhook_id))])
    .execute();
  const now = context.now().toISOString();
  return new Map(
    rows.map((row) => {
      const sealed = [row.secret];
      if (row.previous_secret !== null && row.previous_secret_expires_at! > now)
        sealed.push(row.previous_secret);
      const keys = sealed.map((secret) =>
        Buffer.from(openWebhookSecret(context, secret).slice('whsec_'.length), 'base64'),
      );
      return [row.id, { row, keys }];
    }),
  );
}

/** `v1,<signature>` with each key. */
function signatures(keys: readonly Buffer[], content: string): string {
  return keys.map((key) => `v1,${createHmac('sha256', key).update(content).digest('base64')}`).join(' ');
}

/** Keep-alive connections for deliveries, per server: at most `DELIVERY_CONCURRENCY` to one address. */
const connectionPools = new WeakMap<AppContext, { http: HttpAgent; https: HttpsAgent }>();

function connectionPool(context: AppContext): { http: HttpAgent; https: HttpsAgent } {
  let pool = connectionPools.get(context);
  if (!pool) {
    const options = { keepAlive: true, maxSockets: DELIVERY_CONCURRENCY };
    pool = { http: new HttpAgent(options), https: new HttpsAgent(options) };
    connectionPools.set(context, pool);
  }
  return pool;
}

/**
 * POSTs `body` to `url`, connecting to `address` (the one its host name was checked to resolve
 * to) and nowhere else; follows no redirect. Resolves with the status and the first
 * `RESPONSE_BYTES_KEPT` bytes of the answer (the rest is never read).
 */
async function post(
  context: AppContext,
  url: URL,
  address: string,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
): Promise<{ status: number; body: string }> {
  const secure = url.protocol === 'https:';
  const pool = connectionPool(context);
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const options = {
      host: address,
      port: url.port || (secure ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers: { ...headers, host: url.host, 'content-length': Buffer.byteLength(body) },
      signal,
    };
    const request = secure
      ? httpsRequest({
          ...options,
          agent: pool.https,
          // The certificate must be the host name's, although the connection goes to the address.
          ...(isIP(url.hostname) ? {} : { servername: url.hostname }),
        })
      : httpRequest({ ...options, agent: pool.http });
    request.once('response', resolve).once('error', reject).end(body);
  });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > RESPONSE_BYTES_KEPT) break;
  }
  return {
    status: response.statusCode!,
    body: Buffer.concat(chunks).subarray(0, RESPONSE_BYTES_KEPT).toString('utf8'),
  };
}

interface Outcome {
  status_code: number | null;
  response_body: string;
  error: string | null;
}

/** One POST of the delivery to the endpoint, if `target` allows it. */
async function send(
  context: AppContext,
  endpoint: Endpoint,
  delivery: WebhookDeliveryRow,
  target: TargetVerdict,
): Promise<Outcome> {
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
    const response = await post(
      context,
      new URL(endpoint.row.url),
      target.address,
      {
        'content-type': 'application/json',
        'user-agent': `Meridian-Webhooks/${context.version}`,
        'webhook-id': delivery.id,
        'webhook-timestamp': timestamp,
        'webhook-signature': signatures(endpoint.keys, `${delivery.id}.${timestamp}.${delivery.payload}`),
      },
      delivery.payload,
      abort.signal,
    );
    return { status_code: response.status, response_body: response.body, error: null };
  } catch (error) {
    const reason = abort.signal.aborted ? abort.signal.reason : error;
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

/** An attempt made, to be recorded. */
interface Attempt {
  delivery: WebhookDeliveryRow;
  endpoint: WebhookRow;
  attemptedAt: string;
  latencyMs: number;
  outcome: Outcome;
}

const succeeded = ({ outcome }: Attempt): boolean =>
  outcome.status_code !== null && outcome.status_code >= 200 && outcome.status_code < 300;

/**
 * Records the attempts of a batch in one transaction, scheduling the next attempt of each failed
 * delivery (or failing it for good); each delivery only if its attempt count is still the one
 * claimed.
 */
async function record(context: AppContext, attempts: readonly Attempt[]): Promise<void> {
  if (attempts.length === 0) return;
  const disabled = await context.db.transaction().execute(async (trx) => {
    await trx
      .insertInto('webhook_attempts')
      .values(
        attempts.map(({ delivery, attemptedAt, latencyMs, outcome }) => ({
          id: newId('wat'),
          delivery_id: delivery.id,
          attempted_at: attemptedAt,
          latency_ms: latencyMs,
          ...outcome,
        })),
      )
      .execute();
    // Delivered ones in one update per attempt count, the others each with its own next attempt.
    const delivered = new Map<number, Attempt[]>();
    for (const attempt of attempts.filter(succeeded)) {
      const count = attempt.delivery.attempt_count;
      delivered.set(count, [...(delivered.get(count) ?? []), attempt]);
    }
    for (const [count, group] of delivered)
      await trx
        .updateTable('webhook_deliveries')
        .set({ attempt_count: count + 1, lease_until: null, state: 'delivered', next_attempt_at: null })
        .where(
          'id',
          'in',
          group.map(({ delivery }) => delivery.id),
        )
        .where('attempt_count', '=', count)
        .execute();
    let disabledAny = false;
    for (const { delivery, endpoint } of attempts.filter((attempt) => !succeeded(attempt))) {
      const count = delivery.attempt_count + 1;
      const exhausted = count >= delivery.attempts_allowed;
      await trx
        .updateTable('webhook_deliveries')
        .set({
          attempt_count: count,
          lease_until: null,
          state: exhausted ? 'failed' : 'pending',
          next_attempt_at: exhausted ? null : iso(context.now().getTime() + retryDelayMs(count)),
        })
        .where('id', '=', delivery.id)
        .where('attempt_count', '=', delivery.attempt_count)
        .execute();
      if (exhausted && (await disableIfFailingForDays(trx, context, endpoint))) disabledAny = true;
    }
    return disabledAny;
  });
  if (disabled) announceEvents(context);
}

/**
 * Makes one attempt of each claimed delivery, `DELIVERY_CONCURRENCY` at a time, then records
 * them. Each endpoint is read, and each host name checked, once for the batch.
 */
async function attemptAll(context: AppContext, deliveries: readonly WebhookDeliveryRow[]): Promise<void> {
  if (deliveries.length === 0) return;
  const endpoints = await endpointsOf(context, deliveries);
  const targets = new Map<string, Promise<TargetVerdict>>();
  const targetOf = (url: string): Promise<TargetVerdict> => {
    const host = new URL(url).hostname;
    if (!targets.has(host)) targets.set(host, checkTarget(context, url));
    return targets.get(host)!;
  };
  const attempts: Attempt[] = [];
  let next = 0;
  const sender = async (): Promise<void> => {
    while (next < deliveries.length) {
      const delivery = deliveries[next++]!;
      const endpoint = endpoints.get(delivery.webhook_id);
      if (!endpoint) continue;
      const target = await targetOf(endpoint.row.url);
      const attemptedAt = context.now().toISOString();
      const startedAt = performance.now();
      const outcome = await send(context, endpoint, delivery, target);
      const latencyMs = Math.round(performance.now() - startedAt);
      attempts.push({ delivery, endpoint: endpoint.row, attemptedAt, latencyMs, outcome });
    }
  };
  await Promise.all(Array.from({ length: Math.min(DELIVERY_CONCURRENCY, deliveries.length) }, sender));
  await record(context, attempts);
}

/** Claims and attempts one delivery (the test send); false if it was not due or someone else has it. */
export async function attemptNow(context: AppContext, delivery: WebhookDeliveryRow): Promise<boolean> {
  const now = context.now().getTime();
  const claimed = await context.db
    .updateTable('webhook_deliveries')
    .set({ lease_until: leaseUntil(context, now, 1) })
    .where('id', '=', delivery.id)
    .where('attempt_count', '=', delivery.attempt_count)
    .where((eb) => claimable(eb, iso(now)))
    .returningAll()
    .execute();
  await attemptAll(context, claimed);
  return claimed.length === 1;
}

/** Attempts every delivery that is due (of enabled endpoints); returns how many attempts were made. */
export async function deliverDue(context: AppContext): Promise<number> {
  let made = 0;
  for (;;) {
    const claimed = await claimDue(context);
    await attemptAll(context, claimed);
    made += claimed.length;
    if (claimed.length < CLAIM_BATCH) return made;
  }
}

/** Delivers in the background: a pass when events are recorded and every `POLL_INTERVAL_MS` for retries. */
export function startWebhookWorker(context: AppContext): Worker {
  const worker = startWorker(context, 'webhook-deliveries', {
    topics: [EVENTS_TOPIC, DELIVERIES_TOPIC],
    intervalMs: POLL_INTERVAL_MS,
    pass: () => deliverDue(context),
  });
  return {
    run: worker.run,
    stop: async () => {
      await worker.stop();
      const pool = connectionPools.get(context);
      connectionPools.delete(context);
      pool?.http.destroy();
      pool?.https.destroy();
    },
  };
}

/**
 * Idempotency keys for creating POSTs (the spec marks them; see route metadata). The first
 * request with a key claims it; its answer is stored and replayed to every retry
 * with the same key and body, with `Idempotent-Replayed: true`. The same key with another body
 * or path is 422; a retry while the first is still running is 409. Refused requests (4xx)
 * change nothing, so their key is released and a retry runs again; a 5xx is kept and replayed
 * like a success, since it may have failed after writing. Keys are kept for 24 hours, stored
 * only as digests, with the response sealed by a key derived from them (replay-seal.ts).
 *
 * The answer is recorded when the route sends it, before it goes out: a client that timed out
 * or disconnected meanwhile (its response never finishes) gets it replayed on retry, and a
 * client never receives an answer whose replay is not stored yet. A claim holds a lease that
 * outlasts any request; a claim with no answer whose lease has run out belonged to a request
 * that died with its process, and one retry takes it over and runs the request (a conditional
 * update, so two instances never both do). The holder records its answer only while the claim
 * is still its own.
 */
import { createHash } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Selectable } from 'kysely';
import type { AppContext } from '../context';
import type { IdempotencyKeysTable } from '../store/schema';
import { principalOf } from './principal';
import { problems } from './problem';
import { keyDigest, seal, unseal } from './replay-seal';
import { routeMetadata } from './route';

const RETENTION_MS = 24 * 60 * 60 * 1000;
/** Expired keys are deleted at most this often per instance (a key found expired meanwhile is free). */
const PURGE_INTERVAL_MS = 60 * 1000;
/** How long a claim is held for its request: longer than any request runs (waits are at most 60 s). */
export const LEASE_MS = 2 * 60 * 1000;
/**
 * Headers replayed with the body: those that describe the created resource, and the original
 * Request-Id (the replay is that request's answer, and a problem body repeats its ID).
 */
const REPLAYED_HEADERS = ['etag', 'location', 'request-id'];

function requestHash(req: Request): string {
  return createHash('sha256')
    .update(`${req.method} ${req.path}\n`)
    .update(req.rawBody ?? Buffer.alloc(0))
    .digest('hex');
}

/**
 * Calls `record` with the body when the route sends its answer, and sends it once recorded.
 * Objects come back through res.json as JSON text, so only text and bytes are recorded.
 */
function recordBeforeSending(res: Response, record: (body: string) => Promise<void>): void {
  const send = res.send.bind(res);
  res.send = (chunk?: unknown) => {
    if (typeof chunk !== 'string' && !Buffer.isBuffer(chunk) && chunk !== undefined && chunk !== null)
      return send(chunk);
    res.send = send;
    const body = Buffer.isBuffer(chunk) ? chunk.toString('utf8') : (chunk ?? '');
    record(body)
      .catch((error: unknown) => res.log.error({ err: error }, 'could not record an idempotency key'))
      .then(() => send(chunk))
      .catch((error: unknown) => res.log.error({ err: error }, 'could not send a response'));
    return res;
  };
}

function resourceHeaders(res: Response): Record<string, string> {
  return Object.fromEntries(
    REPLAYED_HEADERS.flatMap((name) => (res.hasHeader(name) ? [[name, String(res.getHeader(name))]] : [])),
  );
}

type StoredKey = Selectable<IdempotencyKeysTable>;

/**
 * Claims the key for this request: a new key, or one whose holder's lease ran out with no
 * answer. Returns the lease held, or the stored row when someone else holds or answered it.
 */
async function claim(
  context: AppContext,
  owner: string,
  digest: string,
  hash: string,
): Promise<{ lease: string } | { stored: StoredKey }> {
  const { db } = context;
  const now = context.now();
  const lease = new Date(now.getTime() + LEASE_MS).toISOString();
  // A key started afresh: this request's hash, no answer yet, leased to this request.
  const fresh = {
    request_hash: hash,
    status: null,
    content_type: null,
    response_body: null,
    response_headers: null,
    created_at: now.toISOString(),
    locked_until: lease,
  };
  const inserted = await db
    .insertInto('idempotency_keys')
    .values({ owner, key_digest: digest, ...fresh })
    .onConflict((conflict) => conflict.columns(['owner', 'key_digest']).doNothing())
    .executeTakeFirst();
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0) return { lease };
  const stored = await db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('owner', '=', owner)
    .where('key_digest', '=', digest)
    .executeTakeFirstOrThrow();
  if (stored.created_at < new Date(now.getTime() - RETENTION_MS).toISOString()) {
    // Kept past its 24 hours and not purged yet: the key is new again (for one request, if several race).
    const renewed = await db
      .updateTable('idempotency_keys')
      .set(fresh)
      .where('owner', '=', owner)
      .where('key_digest', '=', digest)
      .where('created_at', '=', stored.created_at)
      .executeTakeFirst();
    if (Number(renewed.numUpdatedRows) > 0) return { lease };
  }
  if (stored.request_hash !== hash || stored.status !== null || stored.locked_until > now.toISOString())
    return { stored };
  // Only the first of several retries finds the lease still run out: the others get 409.
  const takenOver = await db
    .updateTable('idempotency_keys')
    .set({ locked_until: lease, created_at: now.toISOString() })
    .where('owner', '=', owner)
    .where('key_digest', '=', digest)
    .where('status', 'is', null)
    .where('locked_until', '<=', now.toISOString())
    .executeTakeFirst();
  return Number(takenOver.numUpdatedRows) > 0 ? { lease } : { stored };
}

function replay(res: Response, key: string, stored: StoredKey): void {
  res.status(stored.status!).setHeader('Idempotent-Replayed', 'true');
  const headers = stored.response_headers
    ? (JSON.parse(unseal(key, stored.response_headers)) as Record<string, string>)
    : {};
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (stored.content_type) res.type(stored.content_type);
  res.send(stored.response_body ? unseal(key, stored.response_body) : '');
}

/** Deletes the keys past their 24 hours, at most once every PURGE_INTERVAL_MS. */
function purgeExpired(context: AppContext): () => Promise<void> {
  let lastPurge = Number.NEGATIVE_INFINITY;
  return async () => {
    const now = context.now().getTime();
    if (now - lastPurge < PURGE_INTERVAL_MS) return;
    lastPurge = now;
    await context.db
      .deleteFrom('idempotency_keys')
      .where('created_at', '<', new Date(now - RETENTION_MS).toISOString())
      .execute();
  };
}

export function idempotency(context: AppContext): RequestHandler {
  const { db } = context;
  const purge = purgeExpired(context);
  return async (req, res, next) => {
    try {
      const key = req.get('Idempotency-Key');
      // Out-of-bounds keys are left to request validation, which reports them as 400.
      if (!routeMetadata(req).idempotent || key === undefined || key.length === 0 || key.length > 255)
        return next();
      const owner = principalOf(req).user.id;
      const digest = keyDigest(key);
      await purge();
      const hash = requestHash(req);
      const claimed = await claim(context, owner, digest, hash);
      if ('stored' in claimed) {
        const { stored } = claimed;
        if (stored.request_hash !== hash) {
          throw problems.unprocessable(
            'idempotency_key_reused',
            'This Idempotency-Key was already used with a different request; use a new key for a new request.',
          );
        }
        if (stored.status === null) {
          throw problems.conflict(
            'idempotency_request_in_progress',
            'A request with this Idempotency-Key is still being processed; retry shortly.',
          );
        }
        return replay(res, key, stored);
      }
      // The answer is recorded only while the claim is still this request's (not taken over).
      const ours = { owner, key_digest: digest, status: null, locked_until: claimed.lease };
      recordBeforeSending(res, async (body) => {
        // A 4xx changed nothing, so its key is released and a corrected retry runs. After a 2xx,
        // and after a 5xx (which may have failed after writing), the answer is kept and replayed:
        // running the request again could do the work twice.
        const refused = res.statusCode >= 400 && res.statusCode < 500;
        await (refused
          ? db.deleteFrom('idempotency_keys').where((eb) => eb.and(ours))
          : db
              .updateTable('idempotency_keys')
              .set({
                status: res.statusCode,
                content_type: String(res.getHeader('content-type') ?? ''),
                response_body: seal(key, body),
                response_headers: seal(key, JSON.stringify(resourceHeaders(res))),
              })
              .where((eb) => eb.and(ours))
        ).execute();
      });
      next();
    } catch (error) {
      next(error);
    }
  };
}

/**
 * Idempotency keys for creating POSTs (the spec marks them; see route metadata). The first
 * request with a key claims it; its answer is stored and replayed to every retry
 * with the same key and body, with `Idempotent-Replayed: true`. The same key with another body
 * or path is 422; a retry while the first is still running is 409. Refused requests (4xx)
 * change nothing, so their key is released and a retry runs again; a 5xx is kept and replayed
 * like a success, since it may have failed after writing. Keys are kept for 24 hours, stored
 * only as digests, with the response sealed by a key derived from them (replay-seal.ts).
 */
import { createHash } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { AppContext } from '../context';
import { principalOf } from './principal';
import { problems } from './problem';
import { keyDigest, seal, unseal } from './replay-seal';
import { routeMetadata } from './route';

const RETENTION_MS = 24 * 60 * 60 * 1000;
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

/** Captures what the route sends so it can be stored once the response has finished. */
function captureBody(res: Response): () => string | undefined {
  let body: string | undefined;
  const send = res.send.bind(res);
  res.send = (chunk?: unknown) => {
    if (typeof chunk === 'string') body = chunk;
    else if (Buffer.isBuffer(chunk)) body = chunk.toString('utf8');
    else if (chunk !== undefined && chunk !== null) body = JSON.stringify(chunk);
    return send(chunk);
  };
  return () => body;
}

function resourceHeaders(res: Response): Record<string, string> {
  return Object.fromEntries(
    REPLAYED_HEADERS.flatMap((name) => (res.hasHeader(name) ? [[name, String(res.getHeader(name))]] : [])),
  );
}

export function idempotency(context: AppContext): RequestHandler {
  const { db } = context;
  return async (req, res, next) => {
    try {
      const key = req.get('Idempotency-Key');
      // Out-of-bounds keys are left to request validation, which reports them as 400.
      if (!routeMetadata(req).idempotent || key === undefined || key.length === 0 || key.length > 255)
        return next();
      const owner = principalOf(req).user.id;
      const digest = keyDigest(key);
      const hash = requestHash(req);
      const now = context.now();
      await db
        .deleteFrom('idempotency_keys')
        .where('owner', '=', owner)
        .where('key_digest', '=', digest)
        .where('created_at', '<', new Date(now.getTime() - RETENTION_MS).toISOString())
        .execute();
      const claimed = await db
        .insertInto('idempotency_keys')
        .values({
          owner,
          key_digest: digest,
          request_hash: hash,
          status: null,
          content_type: null,
          response_body: null,
          response_headers: null,
          created_at: now.toISOString(),
        })
        .onConflict((conflict) => conflict.columns(['owner', 'key_digest']).doNothing())
        .executeTakeFirst();
      if (Number(claimed.numInsertedOrUpdatedRows ?? 0n) === 0) {
        const stored = await db
          .selectFrom('idempotency_keys')
          .selectAll()
          .where('owner', '=', owner)
          .where('key_digest', '=', digest)
          .executeTakeFirstOrThrow();
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
        res.status(stored.status).setHeader('Idempotent-Replayed', 'true');
        const headers = stored.response_headers
          ? (JSON.parse(unseal(key, stored.response_headers)) as Record<string, string>)
          : {};
        for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
        if (stored.content_type) res.type(stored.content_type);
        res.send(stored.response_body ? unseal(key, stored.response_body) : '');
        return;
      }
      const bodyOf = captureBody(res);
      res.on('finish', () => {
        // A 4xx changed nothing, so its key is released and a corrected retry runs. After a 2xx,
        // and after a 5xx (which may have failed after writing), the answer is kept and replayed:
        // running the request again could do the work twice.
        const refused = res.statusCode >= 400 && res.statusCode < 500;
        const done = !refused
          ? db
              .updateTable('idempotency_keys')
              .set({
                status: res.statusCode,
                content_type: String(res.getHeader('content-type') ?? ''),
                response_body: seal(key, bodyOf() ?? ''),
                response_headers: seal(key, JSON.stringify(resourceHeaders(res))),
              })
              .where('owner', '=', owner)
              .where('key_digest', '=', digest)
          : db.deleteFrom('idempotency_keys').where('owner', '=', owner).where('key_digest', '=', digest);
        done
          .execute()
          .catch((error: unknown) => console.error('[meridian] could not record idempotency key', error));
      });
      next();
    } catch (error) {
      next(error);
    }
  };
}

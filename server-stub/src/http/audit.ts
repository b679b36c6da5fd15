/**
 * Records every change an operator or an API token makes in the audit log
 * (integrate/audit-log.ts), once, here, for every operation: each non-GET request of an
 * operator route that passed authentication and authorisation, whatever its outcome (a
 * success, a refusal such as 400, 404, 409, 412 or 422, or a failure), including enrolment
 * decisions. Not recorded: reads, public routes (sign-in), agents' requests, requests refused
 * before they were authenticated or authorised (401, 403: no change was attempted), and
 * requests answered by idempotency.ts (a replay: the original request is the one recorded; a
 * key still in use or reused with another body).
 *
 * Like idempotency.ts, the entry is written when the route ends its answer and before the
 * answer goes out, so a client never sees an answer to a change the log does not hold yet.
 */
import type { Request, RequestHandler, Response } from 'express';
import { SECRET_KINDS } from '../auth/secrets';
import type { AppContext } from '../context';
import { appendAuditEvent, type AuditRecord } from '../integrate/audit-log';
import { principalOf } from './principal';
import { routeMetadata, routePath } from './route';

const REDACTED = '[redacted]';
const MAX_STRING = 1000;
const MAX_DEPTH = 6;
/** Field names whose values are secrets, whatever they hold. */
const SECRET_FIELD = /password|secret|token|credential|(^|_)(key|code)$/i;
const SECRET_VALUE = new RegExp(`\\b(${[...SECRET_KINDS, 'whsec'].join('|')})_[A-Za-z0-9+/=_-]+`);
const ID = /^[a-z]+_[0-9A-HJKMNP-TV-Z]{26}$/;

/** The body's fields as they may be kept: secrets replaced, long strings cut. */
function redacted(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    if (SECRET_VALUE.test(value)) return REDACTED;
    return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
  }
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DEPTH) return '…';
  if (Array.isArray(value)) return value.slice(0, 100).map((item) => redacted(item, depth + 1));
  return Object.fromEntries(
    Object.entries(value)
      .slice(0, 100)
      .map(([name, item]) => [name, SECRET_FIELD.test(name) ? REDACTED : redacted(item, depth + 1)]),
  );
}

function changesOf(req: Request): string {
  const body: unknown = req.body;
  const isObject =
    typeof body === 'object' && body !== null && !Array.isArray(body) && !Buffer.isBuffer(body);
  return JSON.stringify(isObject ? redacted(body) : {});
}

/** The ID of the resource a 2xx answer created (its `id`, or that of its first object field). */
function createdId(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    if (typeof parsed.id === 'string') return parsed.id;
    const nested = Object.values(parsed).find(
      (value): value is { id: string } =>
        typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string',
    );
    return nested?.id;
  } catch {
    return undefined;
  }
}

/**
 * The resource acted on, from the route's path: the last ID in the path and the collection
 * named before it; for a request that created something, its ID and the path's last
 * collection; otherwise no ID and the first segment after /v1.
 */
function resourceOf(
  req: Request,
  params: Record<string, string>,
  res: Response,
  body: string,
): Pick<AuditRecord, 'resource_type' | 'resource'> {
  const segments = routePath(req).split('/').slice(2);
  const created = res.statusCode === 201 ? createdId(body) : undefined;
  const collections = segments.filter((segment) => !segment.startsWith(':'));
  if (created !== undefined && ID.test(created))
    return { resource_type: collections.at(-1) ?? 'v1', resource: created };
  const lastParam = segments.findLastIndex((segment) => segment.startsWith(':'));
  if (lastParam > 0) {
    const id = params[segments[lastParam]!.slice(1)] ?? '';
    return { resource_type: segments[lastParam - 1]!, resource: ID.test(id) ? id : null };
  }
  return { resource_type: segments[0] ?? 'v1', resource: null };
}

function record(req: Request, params: Record<string, string>, res: Response, body: string): AuditRecord {
  const principal = principalOf(req);
  const userAgent = req.get('User-Agent');
  return {
    user_id: principal.user.id,
    api_token_id: principal.apiTokenId,
    auth_method: principal.authMethod,
    operation: routeMetadata(req).operationId,
    method: req.method,
    path: req.path.slice(0, 2000),
    ...resourceOf(req, params, res, body),
    changes: changesOf(req),
    status: res.statusCode,
    request_id: req.requestId,
    client_address: req.ip?.slice(0, 100) ?? null,
    user_agent: userAgent === undefined ? null : userAgent.slice(0, 500),
  };
}

export function audit(context: AppContext): RequestHandler {
  return (req, res, next) => {
    const metadata = routeMetadata(req);
    if (req.method === 'GET' || req.method === 'HEAD' || metadata.public || metadata.agent) return next();
    // Express empties req.params once the route is left (for the error handler): keep them.
    const params = { ...req.params } as Record<string, string>;
    // `end`, not `send`: answers without a body (204) are ended without being sent.
    const end = res.end.bind(res) as (...args: unknown[]) => Response;
    res.end = ((...args: unknown[]) => {
      res.end = end as Response['end'];
      const [chunk] = args;
      const body = Buffer.isBuffer(chunk) ? chunk.toString('utf8') : typeof chunk === 'string' ? chunk : '';
      appendAuditEvent(context, record(req, params, res, body))
        .catch((error: unknown) => res.log.error({ err: error }, 'could not record an audit event'))
        .then(() => end(...args))
        .catch((error: unknown) => res.log.error({ err: error }, 'could not send a response'));
      return res;
    }) as Response['end'];
    next();
  };
}

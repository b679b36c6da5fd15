/**
 * Rate limits with express-rate-limit, each answering 429 problem+json with Retry-After and the
 * RateLimit-* headers:
 * - the API budget, per principal once authenticated (a user's sessions together, an API token,
 *   a device); requests that are anonymous or whose credentials fail count against the client's
 *   address instead, so made-up tokens are limited, while the users of one office behind one
 *   address each keep their own budget;
 * - failed sign-ins, per address and per username.
 * The client's address is Express's `req.ip`: behind a reverse proxy, the `trust proxy` setting
 * (MERIDIAN_TRUST_PROXY) says whose X-Forwarded-For to believe.
 *
 * The counters live in this process's memory: with several instances behind a load balancer
 * each enforces its own budget. A shared store (Postgres/Redis) is the step to take then.
 */
import { createHash } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit, type ValueDeterminingMiddleware } from 'express-rate-limit';
import { sendProblem } from './error-handler';
import { problems } from './problem';

const WINDOW_MS = 60_000;

function rejectWithProblem(req: Request, res: Response): void {
  const resetTime = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
  const seconds = Math.max(
    1,
    Math.ceil(((resetTime?.getTime() ?? Date.now() + WINDOW_MS) - Date.now()) / 1000),
  );
  sendProblem(req, res, problems.tooManyRequests(seconds));
}

const clientAddress = (req: Request): string =>
  `address:${ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown')}`;

/** The authenticated caller's budget key, if the request authenticated. */
function principalKey(req: Request): string | undefined {
  if (req.agent) return `device:${req.agent.deviceId}`;
  if (!req.principal) return undefined;
  return req.principal.apiTokenId ? `token:${req.principal.apiTokenId}` : `user:${req.principal.user.id}`;
}

function limiter(
  limit: number,
  keyGenerator: ValueDeterminingMiddleware<string>,
  onlyFailures = false,
): RequestHandler {
  return rateLimit({
    windowMs: WINDOW_MS,
    limit,
    skipSuccessfulRequests: onlyFailures,
    standardHeaders: 'draft-6',
    legacyHeaders: false,
    keyGenerator,
    handler: rejectWithProblem,
    // Without a trusted proxy, X-Forwarded-For is a client's claim and is ignored on purpose.
    validate: { xForwardedForHeader: false },
  });
}

export interface ApiRateLimit {
  /** Runs `authenticate`, then counts the request against its principal, or its address without one. */
  around(authenticate: RequestHandler): RequestHandler;
  /** Counts a request against its address (for requests no route answers). */
  byAddress: RequestHandler;
}

export function apiRateLimit(requestsPerMinute: number): ApiRateLimit {
  const byAddress = limiter(requestsPerMinute, clientAddress);
  const byPrincipal = limiter(requestsPerMinute, (req) => principalKey(req)!);
  return {
    around: (authenticate) => (req, res, next) =>
      authenticate(req, res, (error?: unknown) =>
        (principalKey(req) ? byPrincipal : byAddress)(req, res, () => next(error)),
      ),
    byAddress,
  };
}

/** Only failed sign-ins count, per address and per username; then 429 until the window passes. */
export function loginRateLimit(failuresPerMinute: number): RequestHandler {
  const byAddress = limiter(failuresPerMinute, clientAddress, true);
  // Hashed: usernames that do not exist are counted too, and keys are kept in memory.
  const byUsername = limiter(
    failuresPerMinute,
    (req) =>
      `username:${createHash('sha256')
        .update(String((req.body as { username?: unknown } | undefined)?.username ?? '').toLowerCase())
        .digest('hex')}`,
    true,
  );
  return (req, res, next) => byAddress(req, res, () => byUsername(req, res, next));
}

/**
 * Rate limits with express-rate-limit: one budget per credential (or per IP without one) for
 * the whole API, and a stricter one for failed logins per IP. Both answer 429 problem+json
 * with Retry-After and the RateLimit-* headers.
 *
 * The counters live in this process's memory: with several instances behind a load balancer
 * each enforces its own budget. A shared store (Postgres/Redis) is the step to take then.
 */
import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
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

const clientIp = (req: Request): string => ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown');

/** Every API request counts against its credential's budget (hashed: keys are kept in memory). */
export function apiRateLimit(requestsPerMinute: number) {
  return rateLimit({
    windowMs: WINDOW_MS,
    limit: requestsPerMinute,
    standardHeaders: 'draft-6',
    legacyHeaders: false,
    keyGenerator: (req) => {
      const credential = req.headers.authorization ?? req.cookies?.meridian_session;
      return credential ? createHash('sha256').update(String(credential)).digest('hex') : clientIp(req);
    },
    handler: rejectWithProblem,
  });
}

/** Only failed sign-ins count: five per IP per minute, then 429 until the window passes. */
export function loginRateLimit(failuresPerMinute: number) {
  return rateLimit({
    windowMs: WINDOW_MS,
    limit: failuresPerMinute,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-6',
    legacyHeaders: false,
    keyGenerator: clientIp,
    handler: rejectWithProblem,
  });
}

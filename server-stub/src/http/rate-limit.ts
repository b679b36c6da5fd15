/**
 * Rate limits with rate-limiter-flexible, each answering 429 problem+json with Retry-After and the
 * RateLimit-* headers (RateLimit-Limit, -Remaining, -Reset: IETF draft 6, as every counted response
 * carries them):
 * - the API budget, per principal once authenticated (a user's sessions together, an API token,
 *   a device); requests that are anonymous or whose credentials fail count against the client's
 *   address instead, so made-up tokens are limited, while the users of one office behind one
 *   address each keep their own budget;
 * - failed sign-ins, per address and per username.
 * The client's address is Express's `req.ip`: behind a reverse proxy, the `trust proxy` setting
 * (MERIDIAN_TRUST_PROXY) says whose X-Forwarded-For to believe.
 *
 * Where the counters live (`RateLimitCounters`): on PostgreSQL in its `rate_limits` table
 * (migration 024), so every instance on the database spends the same budgets; on SQLite, one
 * instance, in this process's memory. Windows are fixed minutes on the wall clock (the library's
 * `Date.now()`, as before), not on the context's clock.
 */
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import type pg from 'pg';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import type { Timers } from '../runtime/timers';
import { sendProblem } from './error-handler';
import { type ApiError, problems } from './problem';

const WINDOW_SECONDS = 60;
/** How often PostgreSQL's counters of windows that have ended are deleted. */
const CLEANUP_INTERVAL_MS = 5 * 60_000;

/** The store every limiter of a server keeps its counters in. */
export interface RateLimitCounters {
  /** A limiter of `points` per minute whose keys start with `prefix`. */
  limiter(prefix: string, points: number): RateLimiterAbstract;
  /** Stops the periodic cleanup (before the pool closes). */
  close(): void;
}

/** Counters in PostgreSQL (`pool`), shared by every instance on the database; else in memory. */
export function rateLimitCounters(pool: pg.Pool | undefined, timers: Timers): RateLimitCounters {
  if (!pool)
    return {
      limiter: (keyPrefix, points) => new RateLimiterMemory({ keyPrefix, points, duration: WINDOW_SECONDS }),
      close: () => {},
    };
  // A key's row is reset in place when its next window starts; rows of keys not seen since (made-up
  // usernames, addresses gone) are deleted here rather than by the library's own unstoppable timer.
  let cancel = () => {};
  const scheduleCleanup = () => {
    cancel = timers.set(
      CLEANUP_INTERVAL_MS,
      async () => {
        // Not critical (a row past its window counts as empty): a failed pass is left to the next.
        await pool.query('DELETE FROM rate_limits WHERE expire < $1', [Date.now()]).catch(() => {});
        scheduleCleanup();
      },
      'rate-limit-cleanup',
    );
  };
  scheduleCleanup();
  return {
    limiter: (keyPrefix, points) =>
      new RateLimiterPostgres({
        storeClient: pool,
        storeType: 'pool',
        tableName: 'rate_limits',
        tableCreated: true,
        clearExpiredByTimeout: false,
        keyPrefix,
        points,
        duration: WINDOW_SECONDS,
      }),
    close: () => cancel(),
  };
}

function announce(
  res: Pick<ServerResponse, 'setHeader'>,
  limiter: RateLimiterAbstract,
  counted: RateLimiterRes,
): void {
  res.setHeader('RateLimit-Limit', String(limiter.points));
  res.setHeader('RateLimit-Remaining', String(counted.remainingPoints));
  res.setHeader('RateLimit-Reset', String(Math.ceil(counted.msBeforeNext / 1000)));
}

/**
 * Counts the request against `key`, announcing what is left; resolves with the 429 to answer when
 * the budget is spent. A store failure rejects (a 500, as for any database error).
 */
async function spent(
  limiter: RateLimiterAbstract,
  key: string,
  res: Pick<ServerResponse, 'setHeader'>,
): Promise<ApiError | undefined> {
  try {
    announce(res, limiter, await limiter.consume(key));
    return undefined;
  } catch (rejected) {
    if (!(rejected instanceof RateLimiterRes)) throw rejected;
    announce(res, limiter, rejected);
    return problems.tooManyRequests(Math.max(1, Math.ceil(rejected.msBeforeNext / 1000)));
  }
}

/** Counts the request against `key` (see `spent`); past the limit, answers 429 and resolves false. */
async function count(limiter: RateLimiterAbstract, key: string, req: Request, res: Response) {
  const refusal = await spent(limiter, key, res);
  if (refusal) sendProblem(req, res, refusal);
  return refusal === undefined;
}

/** Counts the request against each limiter and key in turn; on (`next`) unless one is spent. */
function countAll(
  counts: (req: Request) => [RateLimiterAbstract, string][],
  after?: (req: Request, res: Response, counted: [RateLimiterAbstract, string][]) => void,
): RequestHandler {
  return (req, res, next) => {
    const counted = counts(req);
    (async () => {
      for (const [limiter, key] of counted) if (!(await count(limiter, key, req, res))) return;
      after?.(req, res, counted);
      next();
    })().catch(next);
  };
}

const clientAddress = (req: Request): string =>
  `address:${ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown')}`;

const deviceKey = (deviceId: string): string => `device:${deviceId}`;

/** The authenticated caller's budget key, if the request authenticated. */
function principalKey(req: Request): string | undefined {
  if (req.agent) return deviceKey(req.agent.deviceId);
  if (!req.principal) return undefined;
  return req.principal.apiTokenId ? `token:${req.principal.apiTokenId}` : `user:${req.principal.user.id}`;
}

export interface ApiRateLimit {
  /** Runs `authenticate`, then counts the request against its principal, or its address without one. */
  around(authenticate: RequestHandler): RequestHandler;
  /** Counts a request against its address (for requests no route answers). */
  byAddress: RequestHandler;
  /**
   * Counts a request of a device, announcing on `res` what is left; resolves with the 429 to
   * answer when the device's budget is spent (agent/heartbeat-lane.ts).
   */
  countDevice(deviceId: string, res: Pick<ServerResponse, 'setHeader'>): Promise<ApiError | undefined>;
}

export function apiRateLimit(counters: RateLimitCounters, requestsPerMinute: number): ApiRateLimit {
  const limiter = counters.limiter('api', requestsPerMinute);
  const byCaller = countAll((req) => [[limiter, principalKey(req) ?? clientAddress(req)]]);
  return {
    around: (authenticate) => (req, res, next) =>
      authenticate(req, res, (error?: unknown) => byCaller(req, res, () => next(error))),
    byAddress: byCaller,
    countDevice: (deviceId, res) => spent(limiter, deviceKey(deviceId), res),
  };
}

/**
 * A sign-in whose password was right: it succeeded, or it waits for its second factor
 * (`401 mfa_required`, whose wrong codes count toward the account's lockout instead).
 */
const passwordAccepted = (res: Response): boolean =>
  res.statusCode < 400 || res.locals.problemCode === 'mfa_required';

/**
 * Only failed sign-ins count, per address and per username; then 429 until the window passes.
 * Each sign-in counts when it arrives, so guesses sent in parallel cannot slip past the limit,
 * and one whose password was right gives its points back once answered.
 */
export function loginRateLimit(counters: RateLimitCounters, failuresPerMinute: number): RequestHandler {
  const byAddress = counters.limiter('login-address', failuresPerMinute);
  const byUsername = counters.limiter('login-username', failuresPerMinute);
  return countAll(
    (req) => [
      [byAddress, clientAddress(req)],
      // Hashed: usernames that do not exist are counted too, and keys are kept in the store.
      [
        byUsername,
        createHash('sha256')
          .update(String((req.body as { username?: unknown } | undefined)?.username ?? '').toLowerCase())
          .digest('hex'),
      ],
    ],
    (_req, res, counted) =>
      res.once('finish', () => {
        if (!passwordAccepted(res)) return;
        // Best effort: a point not given back only brings the limit one success closer.
        for (const [limiter, key] of counted) limiter.reward(key).catch(() => {});
      }),
  );
}

/**
 * When and how long to wait before trying a request again.
 *
 * Retried: no response at all (network error, timeout), 408, 409 with
 * `idempotency_request_in_progress` (the first request with this key is still running), 429 and
 * every 5xx — but only requests that are safe to repeat: GET, HEAD, PUT, DELETE, OPTIONS, and a
 * POST or PATCH only when it carries an `Idempotency-Key`.
 *
 * The wait is `Retry-After` when the server sent one (seconds or an HTTP date, at most 60 s),
 * otherwise exponential backoff: 0.5 s · 2^n with ±25 % jitter, never more than 8 s.
 */
import type { HeaderRecord } from '../internal/utils/headers';

export const INITIAL_RETRY_DELAY_MS = 500;
export const MAX_RETRY_DELAY_MS = 8_000;
export const MAX_RETRY_AFTER_MS = 60_000;
export const DEFAULT_MAX_RETRIES = 2;

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
const RETRYABLE_CONFLICTS = new Set(['idempotency_request_in_progress']);

/** Whether repeating this request cannot do the work twice. */
export function isSafeToRepeat(method: string, headers: HeaderRecord): boolean {
  return IDEMPOTENT_METHODS.has(method.toUpperCase()) || headers['idempotency-key'] !== undefined;
}

/** Whether an error status is worth another attempt (the request itself must be safe to repeat). */
export function isRetryableStatus(status: number, code?: string): boolean {
  if (status === 408 || status === 429 || status >= 500) return true;
  return status === 409 && code !== undefined && RETRYABLE_CONFLICTS.has(code);
}

/** Backoff before retry number `retry` (0 for the first retry), with ±25 % jitter, at most 8 s. */
export function backoffDelay(retry: number, random: () => number = Math.random): number {
  const base = INITIAL_RETRY_DELAY_MS * 2 ** retry;
  return Math.round(Math.min(base * (0.75 + random() * 0.5), MAX_RETRY_DELAY_MS));
}

/** The wait before retry number `retry`: the server's `Retry-After` (capped at 60 s) or backoff. */
export function retryDelay(retry: number, retryAfterMs: number | undefined, random?: () => number): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, MAX_RETRY_AFTER_MS);
  return backoffDelay(retry, random);
}

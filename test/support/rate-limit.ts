/** Checks on rate-limited responses, shared by the rate-limit tests. */
import { expect } from 'vitest';
import { expectProblem } from './problem';

/** A 429 problem with Retry-After and the RateLimit-* headers of a spent budget of `budget`. */
export function expectLimited(result: { response: Response; error?: unknown }, budget: number): void {
  expectProblem(result, 429, 'rate_limited');
  const headers = result.response.headers;
  expect(Number(headers.get('retry-after'))).toBeGreaterThan(0);
  expect(headers.get('ratelimit-limit')).toBe(String(budget));
  expect(headers.get('ratelimit-remaining')).toBe('0');
  expect(Number(headers.get('ratelimit-reset'))).toBeGreaterThan(0);
}

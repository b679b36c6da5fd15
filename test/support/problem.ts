/** The assertion every refused call makes: the status, a problem document, its code, its request ID. */
import type { Problem } from '@meridian/sdk';
import { expect } from 'vitest';

/**
 * Asserts that an SDK call was answered `status` with an `application/problem+json` body whose
 * `code` is `code` and whose `request_id` is the response's `Request-Id` header; returns the
 * problem for further checks (`errors`, `detail`, …).
 */
export function expectProblem(
  result: { error?: unknown; response: Response },
  status: number,
  code: string,
): Problem {
  const problem = result.error as Problem;
  expect(result.response.status, JSON.stringify(problem)).toBe(status);
  expect(result.response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(problem).toMatchObject({ status, code, request_id: result.response.headers.get('request-id') });
  return problem;
}

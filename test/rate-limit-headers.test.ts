/**
 * The RateLimit-* headers are declared on exactly the responses that carry them: every response to
 * a request counted against a budget (successes, refusals of the caller, of the input, of the
 * limit), and not a body refused unread (413, 415), which is answered before any counting.
 */
import { describe, expect, it } from 'vitest';
import { ADMIN } from './support/server';
import { deref, findOperation, type HeaderObject } from './support/spec';
import { useTestServer } from './support/use-test-server';

const RATE_LIMIT_HEADERS = ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'];
const t = useTestServer({ loginFailuresPerMinute: 1 });

/** Sends the request, then checks its RateLimit-* headers against the spec's response for its status. */
async function expectAsDeclared(method: string, path: string, init: RequestInit, status: number) {
  const response = await fetch(`${t.url}${path}`, { method, ...init });
  expect(response.status).toBe(status);
  const declared = findOperation(method, path.split('?')[0]!)!.responses[String(status)]!;
  const headers = deref<{ headers?: Record<string, HeaderObject> }>(declared).headers ?? {};
  for (const name of RATE_LIMIT_HEADERS) {
    expect(name in headers, `${method} ${path} ${status} declares ${name}`).toBe(response.headers.has(name));
  }
  return response;
}

const json = (body: unknown, token?: string): RequestInit => ({
  headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
  body: JSON.stringify(body),
});

describe('RateLimit-* headers', () => {
  it('are declared on, and sent with, the responses to counted requests', async () => {
    const bearer = { headers: { Authorization: `Bearer ${t.adminToken}` } };
    await expectAsDeclared('GET', '/v1/version', bearer, 200);
    await expectAsDeclared(
      'POST',
      '/v1/sites',
      json({ name: `Site ${crypto.randomUUID()}` }, t.adminToken),
      201,
    );
    await expectAsDeclared('GET', '/v1/version', {}, 401);
    await expectAsDeclared('GET', '/v1/sites/site_01JD5B8QJ3W2N4P6R8T0V2X4Z6', bearer, 404);
    await expectAsDeclared('GET', '/v1/sites?limit=0', bearer, 400);
    await expectAsDeclared('GET', '/health', {}, 200);
    await expectAsDeclared('GET', '/ready', {}, 200);
    await expectAsDeclared(
      'POST',
      '/v1/auth/login',
      json({ username: ADMIN.username, password: 'wrong' }),
      401,
    );
    await expectAsDeclared(
      'POST',
      '/v1/auth/login',
      json({ username: ADMIN.username, password: 'wrong' }),
      429,
    );
  });

  it('are neither declared on nor sent with a body refused unread', async () => {
    const token = { Authorization: `Bearer ${t.adminToken}` };
    await expectAsDeclared(
      'POST',
      '/v1/sites',
      { headers: { ...token, 'Content-Type': 'text/plain' }, body: 'Lisbon' },
      415,
    );
    const tooLarge = JSON.stringify({ name: 'x', description: 'x'.repeat(200_000) });
    await expectAsDeclared(
      'POST',
      '/v1/sites',
      { headers: { ...token, 'Content-Type': 'application/json' }, body: tooLarge },
      413,
    );
  });
});

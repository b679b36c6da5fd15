/**
 * CORS: pages on the allowed origins (MERIDIAN_CORS_ORIGINS) may call the API with a bearer
 * token: preflights are answered with the methods and request headers the API takes, responses
 * expose the headers clients read, credentials are never allowed. Any other origin gets no grant.
 * Preflights are answered before rate limits and the 404/405 fallback. (In a real browser:
 * cors-browser.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { createSite, getHealth, getVersion } from '@meridian/sdk';
import { ok } from './support/server';
import { useTestServer } from './support/use-test-server';
import { unique } from './support/world';

const ALLOWED = 'https://console.example.com';
const OTHER = 'https://elsewhere.example.com';
const REQUEST_HEADERS = ['authorization', 'content-type', 'idempotency-key', 'if-match', 'last-event-id'];
const EXPOSED = [
  'request-id',
  'etag',
  'location',
  'retry-after',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'idempotent-replayed',
];

const list = (value: string | null): string[] =>
  (value ?? '').split(',').map((item) => item.trim().toLowerCase());

describe('with allowed origins', () => {
  const t = useTestServer({ corsOrigins: [ALLOWED, 'http://localhost:5173'] });
  const preflight = (origin: string, path: string, method: string, headers: string[]) =>
    fetch(`${t.url}${path}`, {
      method: 'OPTIONS',
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': method,
        'Access-Control-Request-Headers': headers.join(','),
      },
    });

  it.each([
    ['/v1/sites', 'POST', ['authorization', 'content-type', 'idempotency-key']],
    ['/v1/sites/site_01JD5B8QJ3W2N4P6R8T0V2X4Z6', 'PATCH', ['authorization', 'content-type', 'if-match']],
    ['/v1/events/stream', 'GET', ['authorization', 'last-event-id']],
  ])('answers the preflight of %s %s from an allowed origin', async (path, method, headers) => {
    const response = await preflight(ALLOWED, path, method, headers);
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(list(response.headers.get('access-control-allow-methods'))).toEqual(
      expect.arrayContaining(['get', 'post', 'patch', 'delete']),
    );
    expect(list(response.headers.get('access-control-allow-headers'))).toEqual(
      expect.arrayContaining(REQUEST_HEADERS),
    );
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    expect(Number(response.headers.get('access-control-max-age'))).toBeGreaterThan(0);
    expect(list(response.headers.get('vary'))).toContain('origin');
  });

  it('grants responses to an allowed origin, exposing the headers clients read, without credentials', async () => {
    const page = t.client(t.adminToken, { Origin: ALLOWED });
    const created = await createSite({ client: page, body: { name: unique('Cors') } });
    ok(created);
    const headers = created.response.headers;
    expect(headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(list(headers.get('access-control-expose-headers'))).toEqual(EXPOSED);
    expect(headers.get('access-control-allow-credentials')).toBeNull();
    expect(list(headers.get('vary'))).toContain('origin');
    // Errors are readable too (a page needs the problem and its Request-Id).
    const refused = await getVersion({ client: t.client(undefined, { Origin: 'http://localhost:5173' }) });
    expect(refused.response.status).toBe(401);
    expect(refused.response.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
  });

  it('gives any other origin no grant, on the preflight and on the response', async () => {
    const response = await preflight(OTHER, '/v1/sites', 'POST', ['authorization', 'content-type']);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const version = await getVersion({ client: t.client(t.adminToken, { Origin: OTHER }) });
    ok(version);
    expect(version.response.headers.get('access-control-allow-origin')).toBeNull();
    // A look-alike is another origin.
    const lookAlike = await preflight(`${ALLOWED}.evil.example`, '/v1/sites', 'POST', ['authorization']);
    expect(lookAlike.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('preflights', () => {
  const t = useTestServer({ corsOrigins: [ALLOWED], requestsPerMinute: 3 });

  it('are answered once the address has spent its budget, and on paths the API does not have', async () => {
    let status = 0;
    for (let i = 0; i < 5 && status !== 429; i++)
      status = (await getHealth({ client: t.client() })).response.status;
    expect(status).toBe(429);
    for (const path of ['/v1/sites', '/v1/no-such-thing']) {
      const response = await fetch(`${t.url}${path}`, {
        method: 'OPTIONS',
        headers: { Origin: ALLOWED, 'Access-Control-Request-Method': 'POST' },
      });
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    }
  });
});

describe('without allowed origins (the default)', () => {
  const t = useTestServer();

  it('grants no origin', async () => {
    const version = await getVersion({ client: t.client(t.adminToken, { Origin: ALLOWED }) });
    ok(version);
    expect(version.response.headers.get('access-control-allow-origin')).toBeNull();
  });
});

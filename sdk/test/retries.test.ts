/**
 * Retries, backoff, Retry-After, idempotency keys, timeouts and aborts, against MSW with fake
 * timers: the delays checked are the fake clock's, so they are exact, not wall time.
 */
import { describe, expect, it, vi } from 'vitest';
import { delay, http, HttpResponse } from 'msw';
import {
  APIConnectionError,
  ConflictError,
  InternalServerError,
  RateLimitError,
  TimeoutError,
  UserAbortError,
} from '../src/index';
import { backoffDelay, retryDelay } from '../src/meridian-client/retries';
import { parseRetryAfter } from '../src/internal/utils/retry-after';
import { client, failure, json, problem, server, settle, url, useMsw } from './support/msw';

useMsw();

const SITE = {
  id: 'site_01JC0A1B2C3D4E5F6G7H8J9K0M',
  name: 'Lisbon',
  description: null,
  created_at: '2026-10-01T00:00:00.000Z',
  updated_at: '2026-10-01T00:00:00.000Z',
  device_count: 0,
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Serves `responses` in order (the last one repeats) and records when and what was asked. */
function sequence(
  method: 'get' | 'post' | 'patch' | 'delete',
  path: string,
  responses: (() => Response | Promise<Response>)[],
) {
  const calls: { at: number; request: Request }[] = [];
  server.use(
    http[method](url(path), ({ request }) => {
      calls.push({ at: Date.now(), request: request.clone() });
      return responses[Math.min(calls.length - 1, responses.length - 1)]!();
    }),
  );
  return calls;
}

const gaps = (calls: { at: number }[]): number[] => calls.slice(1).map((call, i) => call.at - calls[i]!.at);

describe('backoff arithmetic', () => {
  it('is 0.5 s · 2^n with ±25 % jitter, never above 8 s', () => {
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(n, () => 0.5))).toEqual([
      500, 1000, 2000, 4000, 8000, 8000,
    ]);
    expect(backoffDelay(0, () => 0)).toBe(375);
    expect(backoffDelay(0, () => 0.999999)).toBe(625);
    expect(backoffDelay(2, () => 0)).toBe(1500);
    expect(backoffDelay(3, () => 0.999999)).toBe(5000);
    expect(backoffDelay(4, () => 0.999999)).toBe(8000);
    expect(backoffDelay(10, () => 0)).toBe(8000);
  });

  it('prefers Retry-After, capped at 60 s', () => {
    expect(retryDelay(0, 3000, () => 0.5)).toBe(3000);
    expect(retryDelay(3, 0, () => 0.5)).toBe(0);
    expect(retryDelay(0, 3_600_000, () => 0.5)).toBe(60_000);
    expect(retryDelay(1, undefined, () => 0.5)).toBe(1000);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-02T10:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
    expect(parseRetryAfter('Mon, 02 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Mon, 02 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe('retries', () => {
  it('retries 5xx twice by default, waiting 0.5 s then 1 s, and succeeds', async () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const calls = sequence('get', '/v1/sites/:id', [
      () => problem(503, 'unavailable'),
      () => problem(500, 'internal'),
      () => json(SITE),
    ]);
    const settled = await settle(client().sites.get(SITE.id));
    expect(settled).toEqual({ ok: true, value: SITE });
    expect(calls).toHaveLength(3);
    expect(gaps(calls)).toEqual([500, 1000]);
  });

  it('gives up after maxRetries with the last error; jitter moves each wait by up to 25 %', async () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const calls = sequence('get', '/v1/sites/:id', [() => problem(502, 'bad_gateway')]);
    const error = failure(await settle(client({ maxRetries: 3 }).sites.get(SITE.id)));
    expect(error).toBeInstanceOf(InternalServerError);
    expect(error).toMatchObject({ status: 502, code: 'bad_gateway' });
    expect(calls).toHaveLength(4);
    expect(gaps(calls)).toEqual([375, 750, 1500]);
  });

  it('honours Retry-After in seconds on 429', async () => {
    vi.useFakeTimers();
    const calls = sequence('get', '/v1/sites/:id', [
      () => problem(429, 'rate_limited', { headers: { 'Retry-After': '3' } }),
      () => json(SITE),
    ]);
    expect(await settle(client().sites.get(SITE.id))).toEqual({ ok: true, value: SITE });
    expect(gaps(calls)).toEqual([3000]);
  });

  it('honours Retry-After as an HTTP date', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-11-02T10:00:00.000Z') });
    const calls = sequence('get', '/v1/sites/:id', [
      () =>
        problem(503, 'unavailable', {
          headers: { 'Retry-After': new Date(Date.now() + 4000).toUTCString() },
        }),
      () => json(SITE),
    ]);
    expect(await settle(client().sites.get(SITE.id))).toMatchObject({ ok: true });
    expect(gaps(calls)).toEqual([4000]);
  });

  it('caps a long Retry-After at 60 s', async () => {
    vi.useFakeTimers();
    const calls = sequence('get', '/v1/sites/:id', [
      () => problem(429, 'rate_limited', { headers: { 'Retry-After': '3600' } }),
      () => json(SITE),
    ]);
    expect(await settle(client().sites.get(SITE.id))).toMatchObject({ ok: true });
    expect(gaps(calls)).toEqual([60_000]);
  });

  it('retries 408 and network errors', async () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const calls = sequence('get', '/v1/sites/:id', [
      () => HttpResponse.error(),
      () => problem(408, 'request_timeout'),
      () => json(SITE),
    ]);
    expect(await settle(client().sites.get(SITE.id))).toEqual({ ok: true, value: SITE });
    expect(calls).toHaveLength(3);
  });

  it('fails a network error that persists with APIConnectionError', async () => {
    vi.useFakeTimers();
    const calls = sequence('get', '/v1/sites/:id', [() => HttpResponse.error()]);
    const error = failure(await settle(client().sites.get(SITE.id)));
    expect(error).toBeInstanceOf(APIConnectionError);
    expect(error).not.toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toContain('could not reach');
    expect(calls).toHaveLength(3);
  });

  it('does not retry 4xx other than 408/409-in-progress/429', async () => {
    vi.useFakeTimers();
    const calls = sequence('get', '/v1/sites/:id', [() => problem(404, 'not_found')]);
    expect(failure(await settle(client().sites.get(SITE.id)))).toMatchObject({ status: 404 });
    expect(calls).toHaveLength(1);
  });

  it('retries a 409 only while the same idempotency key is in progress', async () => {
    vi.useFakeTimers();
    const inProgress = sequence('post', '/v1/sites', [
      () => problem(409, 'idempotency_request_in_progress'),
      () => json(SITE, 201),
    ]);
    expect(await settle(client().sites.create({ name: 'Lisbon' }))).toEqual({ ok: true, value: SITE });
    expect(inProgress).toHaveLength(2);

    server.resetHandlers();
    const taken = sequence('post', '/v1/sites', [
      () => problem(409, 'site_name_taken'),
      () => json(SITE, 201),
    ]);
    const error = failure(await settle(client().sites.create({ name: 'Lisbon' })));
    expect(error).toBeInstanceOf(ConflictError);
    expect(taken).toHaveLength(1);
  });

  it("stops at a replayed 5xx: the server kept the first attempt's answer for this key", async () => {
    vi.useFakeTimers();
    const calls = sequence('post', '/v1/sites', [
      () => problem(500, 'internal_error'),
      () => problem(500, 'internal_error', { headers: { 'Idempotent-Replayed': 'true' } }),
      () => json(SITE, 201),
    ]);
    expect(failure(await settle(client().sites.create({ name: 'Lisbon' })))).toMatchObject({ status: 500 });
    expect(calls).toHaveLength(2);
  });

  it('takes maxRetries per call over the client default, and 0 turns retries off', async () => {
    vi.useFakeTimers();
    const calls = sequence('get', '/v1/sites/:id', [() => problem(500, 'internal')]);
    failure(await settle(client({ maxRetries: 5 }).sites.get(SITE.id, { maxRetries: 1 })));
    expect(calls).toHaveLength(2);
    calls.length = 0;
    failure(await settle(client({ maxRetries: 0 }).sites.get(SITE.id)));
    expect(calls).toHaveLength(1);
  });
});

describe('idempotency keys', () => {
  it('sends one generated key per logical POST and reuses it on every retry', async () => {
    vi.useFakeTimers();
    const calls = sequence('post', '/v1/sites', [
      () => problem(503, 'unavailable'),
      () => problem(429, 'rate_limited', { headers: { 'Retry-After': '1' } }),
      () => json(SITE, 201),
    ]);
    const meridian = client();
    expect(await settle(meridian.sites.create({ name: 'Lisbon' }))).toEqual({ ok: true, value: SITE });
    const keys = calls.map((call) => call.request.headers.get('idempotency-key'));
    expect(keys).toHaveLength(3);
    expect(keys[0]).toMatch(UUID);
    expect(new Set(keys).size).toBe(1);
    expect(await Promise.all(calls.map((call) => call.request.json()))).toEqual([
      { name: 'Lisbon' },
      { name: 'Lisbon' },
      { name: 'Lisbon' },
    ]);

    calls.length = 0;
    server.resetHandlers();
    const next = sequence('post', '/v1/sites', [() => json(SITE, 201)]);
    await settle(meridian.sites.create({ name: 'Lisbon' }));
    expect(next[0]!.request.headers.get('idempotency-key')).toMatch(UUID);
    expect(next[0]!.request.headers.get('idempotency-key')).not.toBe(keys[0]);
  });

  it("uses the caller's key, on every retry", async () => {
    vi.useFakeTimers();
    const calls = sequence('post', '/v1/devices', [() => problem(500, 'internal'), () => json({}, 201)]);
    await settle(
      client().devices.register(
        { name: 'kiosk', site_id: SITE.id, platform: 'linux' },
        { idempotencyKey: 'onboard-lisbon-kiosk' },
      ),
    );
    expect(calls.map((call) => call.request.headers.get('idempotency-key'))).toEqual([
      'onboard-lisbon-kiosk',
      'onboard-lisbon-kiosk',
    ]);
  });

  it('never retries a POST without a key (an operation that does not take one): the work could happen twice', async () => {
    vi.useFakeTimers();
    const calls = sequence('post', '/v1/auth/login', [() => problem(503, 'unavailable'), () => json({})]);
    const error = failure(await settle(client().auth.login({ username: 'root', password: 'pw' })));
    expect(error).toBeInstanceOf(InternalServerError);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.request.headers.has('idempotency-key')).toBe(false);
  });

  it('never retries a network error on a POST without a key', async () => {
    vi.useFakeTimers();
    const calls = sequence('post', '/v1/auth/password', [() => HttpResponse.error()]);
    expect(
      failure(
        await settle(
          client().auth.changePassword({
            current_password: 'a-long-enough-password',
            new_password: 'another-long-password',
          }),
        ),
      ),
    ).toBeInstanceOf(APIConnectionError);
    expect(calls).toHaveLength(1);
  });

  it('never retries a PATCH, even with If-Match', async () => {
    vi.useFakeTimers();
    const calls = sequence('patch', '/v1/devices/:id', [() => problem(503, 'unavailable'), () => json({})]);
    const error = failure(await settle(client().devices.update('dev_1', { name: 'x' }, { ifMatch: '"1"' })));
    expect(error).toBeInstanceOf(InternalServerError);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.request.headers.get('if-match')).toBe('"1"');
    expect(calls[0]!.request.headers.has('idempotency-key')).toBe(false);
  });

  it('retries DELETE (idempotent by method) without a key', async () => {
    vi.useFakeTimers();
    const calls = sequence('delete', '/v1/devices/:id', [
      () => problem(503, 'unavailable'),
      () => new HttpResponse(null, { status: 204 }),
    ]);
    expect(await settle(client().devices.delete('dev_1'))).toEqual({ ok: true, value: undefined });
    expect(calls).toHaveLength(2);
    expect(calls[0]!.request.headers.has('idempotency-key')).toBe(false);
  });

  it('meridian.request() adds a key to POSTs exactly like the resource methods', async () => {
    vi.useFakeTimers();
    const sites = sequence('post', '/v1/sites', [() => json(SITE, 201)]);
    const login = sequence('post', '/v1/auth/login', [() => json({})]);
    const unknown = sequence('post', '/v1/future-things', [() => json({}, 201)]);
    const meridian = client();
    await settle(meridian.request('POST', '/v1/sites', { body: { name: 'Lisbon' } }));
    await settle(meridian.request('POST', '/v1/auth/login', { body: {} }));
    await settle(meridian.request('POST', '/v1/future-things', { body: {} }));
    expect(sites[0]!.request.headers.get('idempotency-key')).toMatch(UUID);
    expect(login[0]!.request.headers.has('idempotency-key')).toBe(false);
    expect(unknown[0]!.request.headers.get('idempotency-key')).toMatch(UUID);
  });
});

describe('timeouts and aborts', () => {
  it('fails with TimeoutError after `timeout` ms per attempt, retrying a GET', async () => {
    vi.useFakeTimers();
    const calls = sequence('get', '/v1/sites/:id', [
      async () => {
        await delay('infinite');
        return json(SITE);
      },
    ]);
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const error = failure(await settle(client({ timeout: 2000, maxRetries: 1 }).sites.get(SITE.id)));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toBeInstanceOf(APIConnectionError);
    expect((error as TimeoutError).timeout).toBe(2000);
    expect((error as Error).message).toContain(
      'GET /v1/sites/site_01JC0A1B2C3D4E5F6G7H8J9K0M timed out after 2000 ms',
    );
    expect(calls).toHaveLength(2);
    expect(gaps(calls)).toEqual([2000 + 500]);
  });

  it("takes the per-call timeout over the client's (default 60 s)", async () => {
    vi.useFakeTimers();
    sequence('get', '/v1/sites/:id', [
      async () => {
        await delay('infinite');
        return json(SITE);
      },
    ]);
    const meridian = client({ maxRetries: 0 });
    expect(meridian.timeout).toBe(60_000);
    const started = Date.now();
    const error = failure(await settle(meridian.sites.get(SITE.id, { timeout: 300 })));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeLessThan(400);
  });

  it('adds the seconds an operation waits on the server (`wait_seconds`) to the timeout of each attempt', async () => {
    vi.useFakeTimers();
    const COMMAND = { device_id: 'dev_01JC0A1B2C3D4E5F6G7H8J9K0M', type: 'echo' } as const;
    // The server holds the request for as long as it may (30 s), then answers the finished command.
    const calls = sequence('post', '/v1/commands', [
      async () => {
        await delay(30_000);
        return json({ id: 'cmd_01JC0A1B2C3D4E5F6G7H8J9K0M', status: 'succeeded' });
      },
    ]);
    const meridian = client({ timeout: 20_000, maxRetries: 0 });
    const waited = await settle(meridian.commands.create(COMMAND, { wait_seconds: 30 }));
    expect(waited).toMatchObject({ ok: true, value: { status: 'succeeded' } });

    // The allowance is the wait, not more: a server silent for longer still times out, after 50 s.
    const slower = sequence('post', '/v1/commands', [
      async () => {
        await delay('infinite');
        return json({});
      },
    ]);
    const started = Date.now();
    const error = failure(await settle(meridian.commands.create(COMMAND, { wait_seconds: 30 })));
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).timeout).toBe(50_000);
    expect(Date.now() - started).toBeLessThan(50_100);
    // Without a wait, the plain timeout.
    const plain = failure(await settle(meridian.commands.create(COMMAND)));
    expect((plain as TimeoutError).timeout).toBe(20_000);
    expect(calls).toHaveLength(1);
    expect(slower).toHaveLength(2);
  });

  it('rejects with UserAbortError when the caller aborts a request in flight, without retrying', async () => {
    const calls = sequence('get', '/v1/sites/:id', [
      async () => {
        await delay('infinite');
        return json(SITE);
      },
    ]);
    const controller = new AbortController();
    const pending = client().sites.get(SITE.id, { signal: controller.signal });
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    controller.abort(new Error('navigated away'));
    const error = await pending.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UserAbortError);
    expect((error as UserAbortError).cause).toEqual(new Error('navigated away'));
    expect(calls).toHaveLength(1);
  });

  it('rejects with UserAbortError when the caller aborts during the wait between retries', async () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const calls = sequence('get', '/v1/sites/:id', [() => problem(503, 'unavailable')]);
    const controller = new AbortController();
    const outcome = client()
      .sites.get(SITE.id, { signal: controller.signal })
      .then(
        () => 'resolved',
        (e: unknown) => e,
      );
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toHaveLength(1);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(await outcome).toBeInstanceOf(UserAbortError);
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toHaveLength(1);
  });

  it('does not send a request aborted right after the call started (before it was built)', async () => {
    const calls = sequence('get', '/v1/sites/:id', [() => json(SITE)]);
    const controller = new AbortController();
    const pending = client().sites.get(SITE.id, { signal: controller.signal });
    controller.abort(new Error('changed my mind'));
    const error = await pending.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UserAbortError);
    expect(calls).toHaveLength(0);
  });

  it('does not send at all with an already aborted signal', async () => {
    const calls = sequence('get', '/v1/sites/:id', [() => json(SITE)]);
    const error = await client()
      .sites.get(SITE.id, { signal: AbortSignal.abort() })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserAbortError);
    expect(calls).toHaveLength(0);
  });
});

describe('RateLimitError', () => {
  it('says how long to wait when retries are exhausted', async () => {
    sequence('get', '/v1/sites/:id', [
      () => problem(429, 'rate_limited', { headers: { 'Retry-After': '42' } }),
    ]);
    const error = await client({ maxRetries: 0 })
      .sites.get(SITE.id)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ status: 429, code: 'rate_limited', retryAfter: 42 });
  });
});

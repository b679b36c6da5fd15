/**
 * MSW for the SDK's behaviour tests: one server per test file, a client pointed at it, problem
 * responses shaped like the real server's, and a way to run fake timers until a call settles.
 */
import { afterAll, afterEach, beforeAll, vi } from 'vitest';
import { HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { Meridian, type MeridianOptions } from '../../src/index';

export const BASE_URL = 'http://meridian.test';
export const TOKEN = 'mtk_testtokenvalue0123456789';
export const server = setupServer();

export function useMsw(): void {
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterEach(() => {
    server.resetHandlers();
    vi.useRealTimers();
    vi.restoreAllMocks();
  });
  afterAll(() => server.close());
}

/** A client of the MSW server that logs nothing unless asked. */
export function client(options: Partial<MeridianOptions> = {}): Meridian {
  return new Meridian({ baseUrl: BASE_URL, token: TOKEN, logLevel: 'off', ...options });
}

export const url = (path: string): string => `${BASE_URL}${path}`;

let requestCounter = 0;

/** A problem+json error response like the real server's. */
export function problem(
  status: number,
  code: string,
  init: {
    detail?: string;
    headers?: Record<string, string>;
    errors?: { path: string; message: string }[];
  } = {},
): Response {
  const requestId = `req_${String(++requestCounter).padStart(4, '0')}`;
  return HttpResponse.json(
    {
      type: `/docs/guides/errors#${code}`,
      title: `Title of ${code}`,
      status,
      detail: init.detail ?? `Detail of ${code}`,
      code,
      request_id: requestId,
      ...(init.errors ? { errors: init.errors } : {}),
    },
    {
      status,
      headers: { 'Content-Type': 'application/problem+json', 'Request-Id': requestId, ...init.headers },
    },
  );
}

/** Answers `ok` with the Request-Id header the real server sends. */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return HttpResponse.json(body as Record<string, unknown>, {
    status,
    headers: { 'Request-Id': `req_ok_${++requestCounter}`, ...headers },
  });
}

export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Advances fake timers in small steps until the promise settles (at most `maxMs` of fake time). */
export async function settle<T>(promise: Promise<T>, maxMs = 300_000, stepMs = 25): Promise<Settled<T>> {
  let result: Settled<T> | undefined;
  promise.then(
    (value) => (result = { ok: true, value }),
    (error: unknown) => (result = { ok: false, error }),
  );
  for (let elapsed = 0; result === undefined && elapsed <= maxMs; elapsed += stepMs) {
    await vi.advanceTimersByTimeAsync(stepMs);
  }
  if (result === undefined) throw new Error(`still pending after ${maxMs} ms of fake time`);
  return result;
}

/** The error a settled call failed with (fails the test if it succeeded). */
export function failure<T>(settled: Settled<T>): unknown {
  if (settled.ok)
    throw new Error(`expected the call to fail, it resolved with ${JSON.stringify(settled.value)}`);
  return settled.error;
}

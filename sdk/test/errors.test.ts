/** Every error status maps to its class with the problem fields; `instanceof` works across builds. */
import { describe, expect, it } from 'vitest';
import { http, HttpResponse } from 'msw';
import {
  APIConnectionError,
  APIError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  InternalServerError,
  MeridianError,
  MfaRequiredError,
  NotFoundError,
  PermissionDeniedError,
  PreconditionFailedError,
  RateLimitError,
  TimeoutError,
  UnprocessableEntityError,
  UserAbortError,
  WebhookVerificationError,
} from '../src/index';
import { client, problem, server, url, useMsw } from './support/msw';

useMsw();

const CASES = [
  [400, 'validation_failed', BadRequestError],
  [401, 'invalid_token', AuthenticationError],
  [403, 'insufficient_scope', PermissionDeniedError],
  [404, 'not_found', NotFoundError],
  [409, 'site_name_taken', ConflictError],
  [412, 'precondition_failed', PreconditionFailedError],
  [422, 'unknown_site', UnprocessableEntityError],
  [429, 'rate_limited', RateLimitError],
  [500, 'internal_error', InternalServerError],
  [503, 'unavailable', InternalServerError],
  [413, 'payload_too_large', APIError],
  [415, 'unsupported_media_type', APIError],
] as const;

describe('error classes', () => {
  for (const [status, code, ErrorClass] of CASES) {
    it(`${status} → ${ErrorClass.name} with status, code, detail, title, type and requestId`, async () => {
      let requestId = '';
      server.use(
        http.get(url('/v1/devices/:id'), () => {
          const response = problem(status, code, { detail: `what went wrong (${status})` });
          requestId = response.headers.get('Request-Id')!;
          return response;
        }),
      );
      const error = await client({ maxRetries: 0 })
        .devices.get('dev_1')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ErrorClass);
      expect(error).toBeInstanceOf(APIError);
      expect(error).toBeInstanceOf(MeridianError);
      expect(error).toBeInstanceOf(Error);
      for (const [, , Other] of CASES)
        if (Other !== ErrorClass && Other !== APIError && !(Other === InternalServerError && status >= 500))
          expect(error).not.toBeInstanceOf(Other);
      expect(error).not.toBeInstanceOf(APIConnectionError);
      const apiError = error as APIError;
      expect(apiError).toMatchObject({
        name: ErrorClass.kind,
        status,
        code,
        detail: `what went wrong (${status})`,
        title: `Title of ${code}`,
        type: `/docs/guides/errors#${code}`,
        requestId,
        errors: [],
      });
      expect(apiError.headers.get('content-type')).toBe('application/problem+json');
      expect(apiError.message).toBe(`${status} ${code}: what went wrong (${status}) (request ${requestId})`);
    });
  }

  it('401 mfa_required → MfaRequiredError carrying the challenge; without a well-formed one, AuthenticationError', async () => {
    const mfaChallenge = { token: 'mmc_challenge', expires_at: '2026-01-01T12:05:00Z' };
    const answers: unknown[] = [mfaChallenge, { token: 'mmc_challenge' }, undefined];
    server.use(
      http.post(url('/v1/auth/login'), async () => {
        const response = problem(401, 'mfa_required');
        return HttpResponse.json(
          { ...(await response.json()), mfa_challenge: answers.shift() },
          { status: 401, headers: response.headers },
        );
      }),
    );
    const login = () =>
      client()
        .auth.login({ username: 'alice', password: 'her-password' })
        .catch((e: unknown) => e);
    const error = await login();
    expect(error).toBeInstanceOf(MfaRequiredError);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({
      name: 'MfaRequiredError',
      status: 401,
      code: 'mfa_required',
      mfaChallenge,
    });
    for (const malformed of [await login(), await login()]) {
      expect(malformed).toBeInstanceOf(AuthenticationError);
      expect(malformed).not.toBeInstanceOf(MfaRequiredError);
      expect(malformed).not.toHaveProperty('mfaChallenge');
    }
  });

  it('keeps the validation errors of a 400', async () => {
    const errors = [{ path: '/body/name', message: 'must NOT have more than 100 characters' }];
    server.use(http.post(url('/v1/sites'), () => problem(400, 'validation_failed', { errors })));
    const error = await client()
      .sites.create({ name: 'x'.repeat(101) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).errors).toEqual(errors);
  });

  it("makes do with a body that is not a problem document (a proxy's HTML page)", async () => {
    server.use(
      http.get(
        url('/v1/devices/:id'),
        () =>
          new HttpResponse('<h1>Bad gateway</h1>', { status: 502, headers: { 'Content-Type': 'text/html' } }),
      ),
    );
    const error = await client({ maxRetries: 0 })
      .devices.get('dev_1')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalServerError);
    expect(error).toMatchObject({
      status: 502,
      code: undefined,
      detail: '<h1>Bad gateway</h1>',
      requestId: undefined,
    });
  });

  it('takes the request id from the body when the header is missing', async () => {
    server.use(
      http.get(url('/v1/devices/:id'), () =>
        HttpResponse.json(
          { type: '/x', title: 'Not found', status: 404, code: 'not_found', request_id: 'req_body' },
          { status: 404 },
        ),
      ),
    );
    const error = await client()
      .devices.get('dev_1')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ requestId: 'req_body' });
  });
});

describe('instanceof across builds', () => {
  it('matches an error from another copy of the module (as the ESM and CJS builds would be)', async () => {
    // A query makes the module loader evaluate the file a second time: a second copy of every class.
    const copy = '../src/meridian-client/errors?copy=cjs';
    const other = (await import(/* @vite-ignore */ copy)) as typeof import('../src/meridian-client/errors');
    expect(other.NotFoundError).not.toBe(NotFoundError);
    const foreign = new other.NotFoundError(404, { code: 'not_found' }, new Headers());
    expect(Object.getPrototypeOf(foreign)).not.toBe(NotFoundError.prototype);
    expect(foreign).toBeInstanceOf(NotFoundError);
    expect(foreign).toBeInstanceOf(APIError);
    expect(foreign).toBeInstanceOf(MeridianError);
    expect(foreign).not.toBeInstanceOf(ConflictError);
    expect(foreign).not.toBeInstanceOf(APIConnectionError);
    const local = new TimeoutError(5, 'GET /health');
    expect(local).toBeInstanceOf(other.TimeoutError);
    expect(local).toBeInstanceOf(other.APIConnectionError);
    expect(local).not.toBeInstanceOf(other.APIError);
  });

  it('matches nothing that is not a Meridian error', () => {
    for (const value of [new Error('x'), null, undefined, 'NotFoundError', { name: 'NotFoundError' }, 42]) {
      expect(value instanceof MeridianError).toBe(false);
      expect(value instanceof NotFoundError).toBe(false);
    }
  });

  it('gives a user subclass ordinary instanceof semantics', () => {
    class MyError extends NotFoundError {}
    const mine = new MyError(404, {}, new Headers());
    expect(mine).toBeInstanceOf(MyError);
    expect(mine).toBeInstanceOf(NotFoundError);
    expect(new NotFoundError(404, {}, new Headers())).not.toBeInstanceOf(MyError);
  });

  it('names every class for logs, and keeps their hierarchy', () => {
    expect(new UserAbortError()).toBeInstanceOf(MeridianError);
    expect(new UserAbortError()).not.toBeInstanceOf(APIConnectionError);
    expect(new UserAbortError().name).toBe('UserAbortError');
    expect(new WebhookVerificationError('x').name).toBe('WebhookVerificationError');
    expect(String(new TimeoutError(5, 'GET /health'))).toMatch(
      /^TimeoutError: GET \/health timed out after 5 ms/,
    );
  });
});

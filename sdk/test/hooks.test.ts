/** Hooks, replaceable fetch, logging with redaction, cookie (browser session) mode, raw access. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { http, HttpResponse } from 'msw';
import { Meridian, MeridianError, NotFoundError, type Logger } from '../src/index';
import { redact } from '../src/internal/utils/redact';
import { BASE_URL, TOKEN, client, json, problem, server, url, useMsw } from './support/msw';

useMsw();

const SITE = {
  id: 'site_1',
  name: 'Lisbon',
  description: '',
  created_at: '2026-10-01T00:00:00.000Z',
  updated_at: '2026-10-01T00:00:00.000Z',
  device_count: 0,
};

function record(
  method: 'get' | 'post' | 'patch' | 'delete',
  path: string,
  respond: () => Response = () => json(SITE),
): Request[] {
  const seen: Request[] = [];
  server.use(
    http[method](url(path), ({ request }) => {
      seen.push(request.clone());
      return respond();
    }),
  );
  return seen;
}

describe('requests', () => {
  it('sends the bearer token, Accept, JSON body, path and query as the spec says', async () => {
    const seen = record('patch', '/v1/devices/:id', () => json({}));
    await client({ headers: { 'X-Client': 'fleet-bot' } }).devices.update(
      'dev/1',
      { name: 'Renamed', tags: ['a'] },
      { ifMatch: '"3"', headers: { 'X-Trace': 't-1' } },
    );
    const [request] = seen;
    expect(new URL(request!.url).pathname).toBe('/v1/devices/dev%2F1');
    expect(request!.method).toBe('PATCH');
    expect(request!.headers.get('authorization')).toBe(`Bearer ${TOKEN}`);
    expect(request!.headers.get('accept')).toBe('application/json');
    expect(request!.headers.get('content-type')).toBe('application/json');
    expect(request!.headers.get('if-match')).toBe('"3"');
    expect(request!.headers.get('x-client')).toBe('fleet-bot');
    expect(request!.headers.get('x-trace')).toBe('t-1');
    expect(await request!.json()).toEqual({ name: 'Renamed', tags: ['a'] });
  });

  it('lets a call remove a client header with null', async () => {
    const seen = record('get', '/v1/sites/:id');
    await client({ headers: { 'X-Client': 'fleet-bot' } }).sites.get('site_1', {
      headers: { 'x-client': null },
    });
    expect(seen[0]!.headers.has('x-client')).toBe(false);
  });

  it('refuses a missing path parameter or one that would climb the path, before sending', async () => {
    const seen = record('get', '/v1/sites/:id');
    await expect(client().sites.get(undefined as unknown as string)).rejects.toThrow(
      'the path parameter site_id is missing',
    );
    await expect(client().sites.get('..')).rejects.toThrow(TypeError);
    expect(seen).toHaveLength(0);
  });

  it('requires a baseUrl', () => {
    expect(() => new Meridian({} as never)).toThrow(MeridianError);
  });

  it('uses the fetch it is given, with a Request and an abort signal', async () => {
    const fetch = vi.fn(async (request: Request, init?: RequestInit) => {
      expect(init?.signal).toBeInstanceOf(AbortSignal);
      return Response.json({ status: 'ok', request: request.url }, { headers: { 'Request-Id': 'req_f' } });
    });
    const meridian = new Meridian({ baseUrl: 'https://meridian.example.com/api/', fetch });
    expect(await meridian.meta.getHealth()).toEqual({
      status: 'ok',
      request: 'https://meridian.example.com/api/health',
    });
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(fetch.mock.calls[0]![0]).toBeInstanceOf(Request);
  });
});

describe('raw access', () => {
  it('withResponse gives the data, the Response and the Request-Id', async () => {
    server.use(
      http.get(url('/v1/sites/:id'), () => json(SITE, 200, { ETag: '"4"', 'Request-Id': 'req_raw' })),
    );
    const { data, response, requestId } = await client().sites.get('site_1').withResponse();
    expect(data).toEqual(SITE);
    expect(response.headers.get('etag')).toBe('"4"');
    expect(requestId).toBe('req_raw');
    expect((await client().sites.get('site_1').asResponse()).status).toBe(200);
  });

  it('an APIPromise is a real promise and resolves to the body', async () => {
    server.use(http.get(url('/v1/sites/:id'), () => json(SITE)));
    const promise = client().sites.get('site_1');
    expect(promise).toBeInstanceOf(Promise);
    expect(await promise.then((site) => site.name)).toBe('Lisbon');
    const [a, b] = await Promise.all([client().sites.get('site_1'), client().sites.get('site_1')]);
    expect(a).toEqual(b);
    await expect(
      client()
        .sites.get('site_1')
        .finally(() => undefined),
    ).resolves.toEqual(SITE);
  });

  it('meridian.request reaches any path with query, body and the same typed errors', async () => {
    const seen = record('get', '/v1/devices/:id', () => json({ id: 'dev_1' }));
    const meridian = client();
    const device = await meridian.request<{ id: string }>('GET', '/v1/devices/{device_id}', {
      pathParams: { device_id: 'dev_1' },
      query: { expand: 'site', tags: ['a', 'b'] },
    });
    expect(device.id).toBe('dev_1');
    expect(new URL(seen[0]!.url).search).toBe('?expand=site&tags=a&tags=b');
    server.use(http.delete(url('/v1/things/:id'), () => problem(404, 'not_found')));
    await expect(meridian.request('DELETE', '/v1/things/x', { maxRetries: 0 })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    server.use(
      http.post(
        url('/v1/echo'),
        async ({ request }) =>
          new HttpResponse(await request.text(), { headers: { 'Content-Type': 'text/plain' } }),
      ),
    );
    expect(await meridian.request('POST', '/v1/echo', { body: 'plain text' })).toBe('plain text');
  });
});

describe('hooks', () => {
  it('onRequest sees each attempt and may replace it; onResponse sees every response, retried ones too', async () => {
    const responses = [() => problem(503, 'unavailable'), () => json(SITE)];
    const seen = record('get', '/v1/sites/:id', () => responses.shift()!());
    const events: string[] = [];
    const meridian = client({
      onRequest: (request) => {
        events.push(`request ${request.method} ${new URL(request.url).pathname}`);
        const replaced = new Request(request, { headers: new Headers(request.headers) });
        replaced.headers.set('X-Hooked', 'yes');
        return replaced;
      },
      onResponse: (response, request) => {
        events.push(`response ${response.status} for ${request.method}`);
      },
    });
    vi.spyOn(Math, 'random').mockReturnValue(0);
    expect(await meridian.sites.get('site_1', { maxRetries: 1 })).toEqual(SITE);
    expect(events).toEqual([
      'request GET /v1/sites/site_1',
      'response 503 for GET',
      'request GET /v1/sites/site_1',
      'response 200 for GET',
    ]);
    expect(seen.map((request) => request.headers.get('x-hooked'))).toEqual(['yes', 'yes']);
  });

  it('a hook that throws fails the call with its own error, not retried', async () => {
    const seen = record('get', '/v1/sites/:id');
    const boom = new Error('hook failed');
    await expect(
      client({
        onResponse: () => {
          throw boom;
        },
      }).sites.get('site_1'),
    ).rejects.toBe(boom);
    expect(seen).toHaveLength(1);
  });
});

describe('logging', () => {
  function capture(): { logger: Logger; lines: unknown[][] } {
    const lines: unknown[][] = [];
    const push =
      (level: string) =>
      (message: string, ...rest: unknown[]) =>
        lines.push([level, message, ...rest]);
    return {
      logger: { debug: push('debug'), info: push('info'), warn: push('warn'), error: push('error') },
      lines,
    };
  }

  it('at debug logs requests and responses with credentials and tokens redacted', async () => {
    server.use(http.post(url('/v1/users/:id/reset-password'), () => json({ password: 'Temp-Password-123' })));
    const { logger, lines } = capture();
    const meridian = new Meridian({
      baseUrl: BASE_URL,
      token: 'mst_sessiontokenvalue123',
      logger,
      logLevel: 'debug',
      credentials: 'cookie',
      readCookies: () => 'meridian_csrf=csrf-secret-value',
      headers: { Cookie: 'meridian_session=session-cookie-value' },
    });
    await meridian.users.resetPassword(
      'usr_1',
      { password: 'a-new-password-mtk_leakedtoken123' },
      { headers: { 'X-Note': 'rotated mtk_anothertoken456 today' } },
    );
    const text = JSON.stringify(lines);
    expect(
      lines.some(
        ([level, message]) =>
          level === 'debug' && String(message).includes('→ POST /v1/users/usr_1/reset-password'),
      ),
    ).toBe(true);
    expect(
      lines.some(([level, message]) => level === 'debug' && String(message).includes('← 200 POST')),
    ).toBe(true);
    for (const secret of [
      'mst_sessiontokenvalue123',
      'csrf-secret-value',
      'session-cookie-value',
      'a-new-password',
      'mtk_leakedtoken123',
      'mtk_anothertoken456',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('[redacted]');
    expect(text).toContain('rotated mtk_[redacted] today');
  });

  it('logs retries at info, nothing below the level, and nothing when off', async () => {
    const responses = [() => problem(503, 'unavailable'), () => json(SITE)];
    record('get', '/v1/sites/:id', () => responses.shift()?.() ?? json(SITE));
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const info = capture();
    await new Meridian({ baseUrl: BASE_URL, logger: info.logger, logLevel: 'info' }).sites.get('site_1');
    expect(info.lines.map(([level]) => level)).toEqual(['info']);
    expect(String(info.lines[0]![1])).toMatch(
      /GET \/v1\/sites\/site_1 failed \(503\); retry 1 of 2 in \d+ ms/,
    );

    const off = capture();
    await new Meridian({ baseUrl: BASE_URL, logger: off.logger, logLevel: 'off' }).sites.get('site_1');
    expect(off.lines).toEqual([]);
  });

  it('defaults to console, quiet below warn', async () => {
    record('get', '/v1/sites/:id');
    const debug = vi.spyOn(console, 'debug').mockImplementation(() => {});
    const info = vi.spyOn(console, 'info').mockImplementation(() => {});
    await new Meridian({ baseUrl: BASE_URL }).sites.get('site_1');
    expect(debug).not.toHaveBeenCalled();
    expect(info).not.toHaveBeenCalled();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    record('post', '/v1/sites');
    // Signing in is an unsafe request made before the CSRF cookie exists: nothing to warn about.
    await new Meridian({ baseUrl: BASE_URL, credentials: 'cookie', readCookies: () => '' }).sites.create({
      name: 'x',
    });
    expect(warn).not.toHaveBeenCalled();
    expect(debug).not.toHaveBeenCalled();
  });

  it('redacts nested fields, headers and token-looking strings', () => {
    expect(
      redact({
        headers: new Headers({ Authorization: 'Bearer x', 'X-CSRF-Token': 'y', Accept: 'a' }),
        nested: [{ new_password: 'p', note: 'whsec_abc+/= and mrt_xyz' }],
      }),
    ).toEqual({
      headers: { authorization: '[redacted]', 'x-csrf-token': '[redacted]', accept: 'a' },
      nested: [{ new_password: '[redacted]', note: 'whsec_[redacted] and mrt_[redacted]' }],
    });
  });
});

describe('cookie mode', () => {
  afterEach(() => {
    delete (globalThis as { document?: unknown }).document;
  });

  it('sends credentials: include, echoes meridian_csrf as X-CSRF-Token on unsafe methods only', async () => {
    const requests: Request[] = [];
    const meridian = new Meridian({
      baseUrl: BASE_URL,
      credentials: 'cookie',
      readCookies: () => 'theme=dark; meridian_csrf=c5rf%2Fvalue; other=1',
      logLevel: 'off',
      onRequest: (request) => void requests.push(request),
    });
    const posts = record('post', '/v1/sites', () => json(SITE, 201));
    const gets = record('get', '/v1/sites/:id');
    const deletes = record('delete', '/v1/sites/:id', () => new HttpResponse(null, { status: 204 }));
    await meridian.sites.create({ name: 'Lisbon' });
    await meridian.sites.get('site_1');
    await meridian.sites.delete('site_1');
    expect(requests.map((request) => request.credentials)).toEqual(['include', 'include', 'include']);
    expect(posts[0]!.headers.get('x-csrf-token')).toBe('c5rf/value');
    expect(deletes[0]!.headers.get('x-csrf-token')).toBe('c5rf/value');
    expect(gets[0]!.headers.has('x-csrf-token')).toBe(false);
    expect(posts[0]!.headers.has('authorization')).toBe(false);
  });

  it('reads document.cookie by default, at each request', async () => {
    const document = { cookie: 'meridian_csrf=first' };
    (globalThis as { document?: unknown }).document = document;
    const posts = record('post', '/v1/auth/logout', () => new HttpResponse(null, { status: 204 }));
    const meridian = new Meridian({ baseUrl: BASE_URL, credentials: 'cookie', logLevel: 'off' });
    await meridian.auth.logout();
    document.cookie = 'meridian_csrf=second';
    await meridian.auth.logout();
    expect(posts.map((request) => request.headers.get('x-csrf-token'))).toEqual(['first', 'second']);
  });

  it('sends no CSRF header and no credentials outside cookie mode', async () => {
    (globalThis as { document?: unknown }).document = { cookie: 'meridian_csrf=abc' };
    const requests: Request[] = [];
    const posts = record('post', '/v1/sites', () => json(SITE, 201));
    await client({ onRequest: (request) => void requests.push(request) }).sites.create({ name: 'x' });
    expect(posts[0]!.headers.has('x-csrf-token')).toBe(false);
    expect(requests[0]!.credentials).toBe('same-origin');
  });
});

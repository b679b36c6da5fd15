/**
 * The `Meridian` client against the real reference server, in-process on :memory: SQLite. Every
 * response goes through the spec-checking fetch of the cross-package tests (a response that
 * breaks the spec fails the test, see test/support/conformance-setup.ts).
 */
import { Secret, TOTP } from 'otpauth';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  ConflictError,
  Meridian,
  MfaRequiredError,
  NotFoundError,
  PermissionDeniedError,
  PreconditionFailedError,
  UnprocessableEntityError,
  BadRequestError,
  type CurrentPrincipal,
  type Device,
  type Fetch,
} from '../src/index';
import { checkedFetch } from '../../test/support/checked-fetch';
import { ADMIN } from '../../test/support/server';
import { useTestServer } from '../../test/support/use-test-server';
import { addMember } from '../../test/support/world';

const t = useTestServer();
let meridian: Meridian;
let counter = 0;
const unique = (stem: string): string => `${stem}-${process.pid}-${++counter}`;

const connect = (token?: string): Meridian =>
  new Meridian({
    baseUrl: t.url,
    fetch: checkedFetch,
    logLevel: 'off',
    ...(token === undefined ? {} : { token }),
  });

beforeAll(async () => {
  const session = await connect().auth.login({ username: ADMIN.username, password: ADMIN.password });
  expect(session.token).toMatch(/^mst_/);
  meridian = connect(session.token);
});

describe('Meridian against the reference server', () => {
  it('signs in and reads the current principal', async () => {
    const me = await meridian.auth.getCurrentUser();
    expect(me.user.username).toBe(ADMIN.username);
    const raw = await meridian.request<CurrentPrincipal>('GET', '/v1/auth/me');
    expect(raw.user.id).toBe(me.user.id);
  });

  it('creates a site, registers devices and lists them across pages with for await', async () => {
    const site = await meridian.sites.create({ name: unique('Lisbon') });
    expect(site.id).toMatch(/^site_/);
    const registered: Device[] = [];
    for (let i = 0; i < 5; i++) {
      const registration = await meridian.devices.register({
        name: unique('kiosk'),
        site_id: site.id,
        platform: 'linux',
      });
      expect(registration.registration_token).toMatch(/^mrt_/);
      registered.push(registration.device);
    }
    const seen: string[] = [];
    for await (const device of meridian.devices.list({ site_id: site.id, limit: 2 })) seen.push(device.id);
    expect(seen).toEqual(registered.map((d) => d.id));

    const first = await meridian.devices.list({ site_id: site.id, limit: 2 });
    expect(first.data).toHaveLength(2);
    expect(first.hasNextPage()).toBe(true);
    const second = await first.nextPage();
    expect(second.data.map((d) => d.id)).toEqual(seen.slice(2, 4));
    expect(await meridian.devices.list({ site_id: site.id, limit: 2 }).toArray({ limit: 3 })).toEqual(
      registered.slice(0, 3).map((d) => expect.objectContaining({ id: d.id })),
    );
  });

  it('replays a create with the same idempotency key instead of creating twice', async () => {
    const name = unique('Porto');
    const key = `onboard-${name}`;
    const first = await meridian.sites.create({ name }, { idempotencyKey: key }).withResponse();
    const again = await meridian.sites.create({ name }, { idempotencyKey: key }).withResponse();
    expect(again.data.id).toBe(first.data.id);
    expect(again.response.headers.get('idempotent-replayed')).toBe('true');
    const error = await meridian.sites
      .create({ name: unique('Other') }, { idempotencyKey: key })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnprocessableEntityError);
    expect(error).toMatchObject({ code: 'idempotency_key_reused' });
  });

  it('updates with If-Match, and a stale ETag is PreconditionFailedError', async () => {
    const site = await meridian.sites.create({ name: unique('Faro') });
    const { device } = await meridian.devices.register({
      name: unique('kiosk'),
      site_id: site.id,
      platform: 'windows',
    });
    const read = await meridian.devices.get(device.id).withResponse();
    const etag = read.response.headers.get('etag')!;
    expect(read.data).toEqual(device);
    const updated = await meridian.devices.update(device.id, { name: 'Renamed' }, { ifMatch: etag });
    expect(updated.name).toBe('Renamed');
    const error = await meridian.devices
      .update(device.id, { name: 'Again' }, { ifMatch: etag })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreconditionFailedError);
    const stale = error as PreconditionFailedError;
    expect(stale).toMatchObject({ status: 412, code: 'precondition_failed', title: 'Precondition failed' });
    expect(stale.requestId).toMatch(/^req_/);
    expect(stale.requestId).toBe(stale.headers.get('request-id'));
    expect(stale.detail).toContain(etag);
    expect((await meridian.devices.get(device.id)).name).toBe('Renamed');
  });

  it('answers an unknown device with NotFoundError, and deletes', async () => {
    const site = await meridian.sites.create({ name: unique('Braga') });
    const { device } = await meridian.devices.register({
      name: unique('kiosk'),
      site_id: site.id,
      platform: 'macos',
    });
    expect(await meridian.devices.delete(device.id)).toBeUndefined();
    const error = await meridian.devices.get(device.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ status: 404, code: 'not_found', type: '/docs/guides/errors#not_found' });
    expect((error as NotFoundError).message).toContain(device.id);
  });

  it('gives the Request-Id of a success through withResponse', async () => {
    const { data, response, requestId } = await meridian.meta.getVersion().withResponse();
    expect(data.api_version).toBeDefined();
    expect(requestId).toMatch(/^req_/);
    expect(requestId).toBe(response.headers.get('request-id'));
  });

  it('reaches any operation with meridian.request, typed errors included', async () => {
    const site = await meridian.sites.create({ name: unique('Evora') });
    const fetched = await meridian.request<{ id: string; name: string }>('GET', '/v1/sites/{site_id}', {
      pathParams: { site_id: site.id },
    });
    expect(fetched).toMatchObject({ id: site.id, name: site.name });
    const page = await meridian.request<{ data: unknown[]; next_cursor: string | null }>('GET', '/v1/sites', {
      query: { limit: 1 },
    });
    expect(page.data).toHaveLength(1);
    await expect(
      meridian.request('GET', '/v1/sites/{site_id}', {
        pathParams: { site_id: 'site_01JC0A1B2C3D4E5F6G7H8J9K0M' },
      }),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it("maps the server's other errors to their classes", async () => {
    await expect(
      connect('mtk_not-a-real-token')
        .devices.list()
        .then(() => 'resolved'),
    ).rejects.toBeInstanceOf(AuthenticationError);
    const name = unique('Dup');
    await meridian.sites.create({ name });
    await expect(meridian.sites.create({ name })).rejects.toMatchObject({
      constructor: ConflictError,
      code: 'site_name_taken',
    });
    const invalid = await meridian.sites.create({ name: 'x'.repeat(500) }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(BadRequestError);
    expect((invalid as BadRequestError).errors.length).toBeGreaterThan(0);
    await expect(
      meridian.devices.register({
        name: 'ghost',
        site_id: 'site_01JC0A1B2C3D4E5F6G7H8J9K0M',
        platform: 'linux',
      }),
    ).rejects.toMatchObject({ code: 'unknown_site', status: 422 });
  });
});

describe('MFA sign-in through the client', () => {
  it('login throws MfaRequiredError with the challenge, and mfa.verify with a code gives the session', async () => {
    const member = await addMember(t, 'operator', []);
    const enrolling = connect(member.session);
    const totp = new TOTP({ secret: Secret.fromBase32((await enrolling.mfa.setupTotp()).secret) });
    const codeAt = (): string => totp.generate({ timestamp: t.clock.now().getTime() });
    await enrolling.mfa.confirmTotp({ code: codeAt() });

    const credentials = { username: member.user.username, password: member.password };
    const error = await connect()
      .auth.login(credentials)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MfaRequiredError);
    expect(error).toBeInstanceOf(AuthenticationError);
    const { mfaChallenge, status, code } = error as MfaRequiredError;
    expect({ status, code }).toEqual({ status: 401, code: 'mfa_required' });
    expect(mfaChallenge.token).toMatch(/^mmc_/);
    expect(Date.parse(mfaChallenge.expires_at)).toBeGreaterThan(t.clock.now().getTime());

    await t.clock.advance(30_000); // the confirming code's step is used up
    const session = await connect().mfa.verify({ challenge_token: mfaChallenge.token, code: codeAt() });
    const me = await connect(session.token).auth.getCurrentUser();
    expect(me.user.username).toBe(member.user.username);

    // A wrong password is no MFA matter: a plain AuthenticationError, without a challenge.
    const wrong = await connect()
      .auth.login({ ...credentials, password: 'not-the-password' })
      .catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(AuthenticationError);
    expect(wrong).not.toBeInstanceOf(MfaRequiredError);
  });
});

describe('cookie mode against the reference server', () => {
  /** What a browser does for us: keep the cookies the server sets and send them back. */
  function browserLikeFetch(jar: Map<string, string>): Fetch {
    return async (input, init) => {
      const request = new Request(input, init);
      if (jar.size > 0) request.headers.set('Cookie', cookieString(jar));
      const response = await checkedFetch(request);
      for (const cookie of response.headers.getSetCookie()) {
        const [pair = ''] = cookie.split(';');
        const separator = pair.indexOf('=');
        jar.set(pair.slice(0, separator), pair.slice(separator + 1));
      }
      return response;
    };
  }
  const cookieString = (jar: Map<string, string>): string =>
    [...jar].map(([name, value]) => `${name}=${value}`).join('; ');

  it('signs in with cookies and echoes the CSRF cookie on unsafe requests', async () => {
    const jar = new Map<string, string>();
    const browser = new Meridian({
      baseUrl: t.url,
      credentials: 'cookie',
      fetch: browserLikeFetch(jar),
      readCookies: () => cookieString(jar),
      logLevel: 'off',
    });
    await browser.auth.login({ username: ADMIN.username, password: ADMIN.password });
    expect(jar.get('meridian_csrf')).toBeTruthy();
    const me = await browser.auth.getCurrentUser();
    expect(me.user.username).toBe(ADMIN.username);
    const site = await browser.sites.create({ name: unique('Cookie') });
    expect(site.id).toMatch(/^site_/);

    const withoutCsrf = new Meridian({
      baseUrl: t.url,
      credentials: 'cookie',
      fetch: browserLikeFetch(jar),
      readCookies: () => '',
      logLevel: 'off',
    });
    const error = await withoutCsrf.sites.create({ name: unique('NoCsrf') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error).toMatchObject({ code: 'csrf_token_invalid' });
  });
});

import { describe, expect, it } from 'vitest';
import {
  changePassword,
  createApiToken,
  getCurrentUser,
  getVersion,
  login,
  logout,
  updateUser,
  createSite,
} from '@meridian/sdk';
import { ADMIN, ok, startTestServer } from './support/server';
import { expectProblem } from './support/problem';
import { useTestServer } from './support/use-test-server';
import { addMember, unique } from './support/world';
import {
  DEFAULT_PASSWORD_COST,
  hashPassword,
  needsRehash,
  verifyPassword,
} from '../server-stub/src/auth/passwords';
import { cookieHeader, cookiesOf } from './support/cookies';

const t = useTestServer();

describe('login', () => {
  it('returns a bearer session and sets httpOnly session and CSRF cookies', async () => {
    const result = await login({
      client: t.client(),
      body: { username: ADMIN.username, password: ADMIN.password },
    });
    const session = ok(result);
    expect(session.token).toMatch(/^mst_/);
    expect(session.user.username).toBe(ADMIN.username);
    expect(session.user.last_login_at).not.toBeNull();
    const setCookies = result.response.headers.getSetCookie();
    expect(setCookies.find((cookie) => cookie.startsWith('meridian_session='))).toMatch(/HttpOnly/i);
    expect(setCookies.find((cookie) => cookie.startsWith('meridian_csrf='))).not.toMatch(/HttpOnly/i);
    expect(cookiesOf(result.response).meridian_csrf).toBe(session.csrf_token);
    const me = ok(await getCurrentUser({ client: t.client(session.token) }));
    expect(me).toMatchObject({ auth_method: 'session', api_token_id: null, site_ids: null });
  });

  it('answers a wrong password and an unknown user identically', async () => {
    const wrongPassword = await login({
      client: t.client(),
      body: { username: ADMIN.username, password: 'not-the-password' },
    });
    const unknownUser = await login({
      client: t.client(),
      body: { username: 'nobody-here', password: 'not-the-password' },
    });
    for (const result of [wrongPassword, unknownUser]) {
      expect(expectProblem(result, 401, 'invalid_credentials').detail).toBe(
        'The username or password is incorrect.',
      );
    }
  });

  it('refuses disabled users with the same 401, and their sessions stop working', async () => {
    const member = await addMember(t, 'viewer', []);
    ok(await updateUser({ client: t.admin, path: { user_id: member.user.id }, body: { disabled: true } }));
    const result = await login({
      client: t.client(),
      body: { username: member.user.username, password: member.password },
    });
    expectProblem(result, 401, 'invalid_credentials');
    expect((await getCurrentUser({ client: member.client })).response.status).toBe(401);
  });

  it('rate-limits failed logins per IP: 5 failures per minute, then 429 with Retry-After', async () => {
    const limited = await startTestServer({ loginFailuresPerMinute: 5 });
    try {
      const attempt = () =>
        login({ client: limited.client(), body: { username: ADMIN.username, password: 'wrong-password' } });
      for (let i = 0; i < 5; i++) expect((await attempt()).response.status).toBe(401);
      const blocked = await attempt();
      expectProblem(blocked, 429, 'rate_limited');
      expect(Number(blocked.response.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(blocked.response.headers.get('ratelimit-remaining')).toBe('0');
      // Even the right password waits out the window: the limit is on the source, not the guess.
      const right = await login({
        client: limited.client(),
        body: { username: ADMIN.username, password: ADMIN.password },
      });
      expect(right.response.status).toBe(429);
    } finally {
      await limited.close();
    }
  });

  it('does not count successful logins against the limit', async () => {
    const limited = await startTestServer({ loginFailuresPerMinute: 2 });
    try {
      for (let i = 0; i < 5; i++)
        ok(
          await login({
            client: limited.client(),
            body: { username: ADMIN.username, password: ADMIN.password },
          }),
        );
    } finally {
      await limited.close();
    }
  });
});

describe('password hashing', () => {
  it("uses OWASP's minimum scrypt cost by default (N=2^17, r=8, p=1)", async () => {
    expect(DEFAULT_PASSWORD_COST).toBeGreaterThanOrEqual(2 ** 17);
    const hash = await hashPassword('correct horse battery staple');
    expect(hash.split('$').slice(0, 4)).toEqual(['scrypt', String(DEFAULT_PASSWORD_COST), '8', '1']);
    expect(await verifyPassword('correct horse battery staple', hash)).toBe(true);
    expect(needsRehash(hash)).toBe(false);
  });

  it('replaces a hash made with weaker parameters at sign-in, and the password still works', async () => {
    const member = await addMember(t, 'viewer', []);
    const { db, passwordCost } = t.server.context;
    const stored = async () =>
      (
        await db
          .selectFrom('users')
          .select('password_hash')
          .where('id', '=', member.user.id)
          .executeTakeFirstOrThrow()
      ).password_hash;
    const configured = ['scrypt', String(passwordCost), '8', '1'];
    expect((await stored()).split('$').slice(0, 4)).toEqual(configured);
    const weak = await hashPassword(member.password, passwordCost / 4);
    await db.updateTable('users').set({ password_hash: weak }).where('id', '=', member.user.id).execute();
    const signIn = (password: string) =>
      login({ client: t.client(), body: { username: member.user.username, password } });

    expectProblem(await signIn('not-the-password'), 401, 'invalid_credentials');
    expect(await stored()).toBe(weak);
    ok(await signIn(member.password));
    const rehashed = await stored();
    expect(rehashed.split('$').slice(0, 4)).toEqual(configured);
    ok(await signIn(member.password));
    expect(await stored()).toBe(rehashed);
  });
});

describe('cookie sessions and CSRF', () => {
  it('accepts the session cookie, and requires X-CSRF-Token on unsafe requests', async () => {
    const result = await login({
      client: t.client(),
      body: { username: ADMIN.username, password: ADMIN.password },
    });
    const cookies = cookiesOf(result.response);
    const cookie = cookieHeader(cookies);
    const browser = t.client(undefined, { cookie });
    expect(ok(await getVersion({ client: browser })).api_version).toBe('v1');

    const withoutCsrf = await createSite({ client: browser, body: { name: unique('Csrf') } });
    expectProblem(withoutCsrf, 403, 'csrf_token_invalid');

    const wrongCsrf = await createSite({
      client: t.client(undefined, { cookie, 'x-csrf-token': 'f'.repeat(32) }),
      body: { name: unique('Csrf') },
    });
    expect(wrongCsrf.response.status).toBe(403);

    const withCsrf = t.client(undefined, { cookie, 'x-csrf-token': cookies.meridian_csrf! });
    expect(ok(await createSite({ client: withCsrf, body: { name: unique('Csrf') } })).name).toMatch(/^Csrf/);
  });

  it('prefers a bad Authorization header over a good cookie: explicit credentials must be valid', async () => {
    const result = await login({
      client: t.client(),
      body: { username: ADMIN.username, password: ADMIN.password },
    });
    const cookies = cookiesOf(result.response);
    const client = t.client('mst_forged', { cookie: `meridian_session=${cookies.meridian_session}` });
    expect((await getVersion({ client })).response.status).toBe(401);
  });
});

describe('logout', () => {
  it('ends only the session used, and clears the cookies', async () => {
    const first = await t.signIn(ADMIN.username, ADMIN.password);
    const second = await t.signIn(ADMIN.username, ADMIN.password);
    const result = await logout({ client: t.client(first) });
    expect(result.response.status).toBe(204);
    expect(result.response.headers.getSetCookie().join(';')).toMatch(/meridian_session=;/);
    expect((await getCurrentUser({ client: t.client(first) })).response.status).toBe(401);
    expect((await getCurrentUser({ client: t.client(second) })).response.status).toBe(200);
  });

  it('refuses API tokens with 422: they are revoked, not logged out', async () => {
    const token = ok(
      await createApiToken({ client: t.admin, body: { name: unique('token'), scopes: ['tokens:read'] } }),
    ).token;
    const result = await logout({ client: t.client(token) });
    expectProblem(result, 422, 'session_required');
    expect((await getCurrentUser({ client: t.client(token) })).response.status).toBe(200);
  });
});

describe('change password', () => {
  it('checks the current password, then ends every other session', async () => {
    const member = await addMember(t, 'viewer', []);
    const other = await t.signIn(member.user.username, member.password);

    const wrong = await changePassword({
      client: member.client,
      body: { current_password: 'not-my-password', new_password: 'a-brand-new-password' },
    });
    expectProblem(wrong, 422, 'invalid_current_password');
    expect((await getCurrentUser({ client: t.client(other) })).response.status).toBe(200);

    const changed = await changePassword({
      client: member.client,
      body: { current_password: member.password, new_password: 'a-brand-new-password' },
    });
    expect(changed.response.status).toBe(204);
    expect((await getCurrentUser({ client: member.client })).response.status).toBe(200);
    expect((await getCurrentUser({ client: t.client(other) })).response.status).toBe(401);
    expect(
      (
        await login({
          client: t.client(),
          body: { username: member.user.username, password: member.password },
        })
      ).response.status,
    ).toBe(401);
    ok(
      await login({
        client: t.client(),
        body: { username: member.user.username, password: 'a-brand-new-password' },
      }),
    );
  });

  it('refuses API tokens with 422 and a too-short new password with 400', async () => {
    const token = ok(
      await createApiToken({ client: t.admin, body: { name: unique('token'), scopes: ['tokens:read'] } }),
    ).token;
    const viaToken = await changePassword({
      client: t.client(token),
      body: { current_password: ADMIN.password, new_password: 'a-brand-new-password' },
    });
    expect(viaToken.response.status).toBe(422);
    const short = await changePassword({
      client: t.admin,
      body: { current_password: ADMIN.password, new_password: 'short' },
    });
    expect(expectProblem(short, 400, 'validation_failed')).toMatchObject({
      errors: [{ path: '/body/new_password' }],
    });
  });
});

describe('sessions expire', () => {
  it('refuses a session after 12 hours', async () => {
    const token = await t.signIn(ADMIN.username, ADMIN.password);
    t.clock.advance(12 * 60 * 60 * 1000 + 1000);
    try {
      const result = await getCurrentUser({ client: t.client(token) });
      expectProblem(result, 401, 'session_expired');
    } finally {
      t.clock.advance(-(12 * 60 * 60 * 1000 + 1000));
    }
  });
});

describe('an empty Bearer header', () => {
  it('counts as no Authorization (what API consoles send before a token is pasted)', async () => {
    const anonymous = await getVersion({ client: t.client(undefined, { Authorization: 'Bearer ' }) });
    expectProblem(anonymous, 401, 'unauthenticated');
    const result = await login({
      client: t.client(),
      body: { username: ADMIN.username, password: ADMIN.password },
    });
    const withCookie = t.client(undefined, {
      Authorization: 'Bearer',
      cookie: cookieHeader(cookiesOf(result.response)),
    });
    expect(ok(await getVersion({ client: withCookie })).api_version).toBe('v1');
  });
});

/**
 * Identity on PostgreSQL with two instances on one database, as replicas behind a load balancer:
 * each request of a ceremony may land on either, so everything one instance learns the other
 * knows. A TOTP code accepted by one is refused by the other; an MFA challenge's wrong codes count
 * on both; a passkey challenge is used once; lockout counts failures made on both and an unlock
 * on one frees the username on both; a session revoked, a password changed by a reset token (one
 * use in all), and role bindings changed on one apply on the other at once, though it had just
 * verified the credential; an LDAP provider made on one signs users in (a real slapd) on the other;
 * an OpenID Connect sign-in started on one (a real provider, Chromium, behind a load balancer of the
 * test's) finishes on the other, and a provider changed on one is used as changed by the other.
 * The key that seals secrets must be given on PostgreSQL, and instances starting at once on a fresh
 * database all start, with one bootstrap admin.
 */
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startServer } from '@meridian/server';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import { Secret, TOTP } from 'otpauth';
import type { Browser } from 'playwright-core';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type Client,
  confirmTotp,
  createIdentityProvider,
  createPasskeyAuthenticationOptions,
  createPasskeyRegistrationOptions,
  createPasswordResetToken,
  getCurrentUser,
  getUser,
  ldapLogin,
  listSessions,
  login,
  type MfaRequiredProblem,
  resetPasswordWithToken,
  revokeSession,
  revokeUserSessions,
  setupTotp,
  startOidcSignIn,
  unlockUser,
  updateDevice,
  updateIdentityProvider,
  updateUser,
  verifyMfa,
  verifyPasskeyAuthentication,
  verifyPasskeyRegistration,
} from '@meridian/sdk';
import { SoftwareAuthenticator } from './support/authenticator';
import { heardBy, usePostgresInstances } from './support/postgres';
import { launchChromium } from './support/programs';
import { expectProblem } from './support/problem';
import { ADMIN, ok, startTestServer, type TestServer } from './support/server';
import { ADMIN_DN, ADMIN_PASSWORD, type Slapd, startSlapd, SUFFIX } from './support/slapd';
import { hashPassword } from '../server-stub/src/auth/passwords';
import { migrateToLatest, openDatabase } from '../server-stub/src/store/database';
import { newId } from '../server-stub/src/store/ids';
import type { Database } from '../server-stub/src/store/schema';
import { addDevice, addMember, addSite, apiToken, type Member, unique } from './support/world';

/** The address of the load balancer both instances stand behind, as the browser sees it. */
const ORIGIN = 'http://localhost:8443';
const STEP_MS = 30_000;
const LOCKOUT_THRESHOLD = 4;

const [t, second] = usePostgresInstances({
  lockout: { threshold: LOCKOUT_THRESHOLD, windowMinutes: 10, lockMinutes: 15 },
  webauthn: { origins: [ORIGIN] },
});

/** Both instances' clocks move together, as the clocks of replicas do. */
const advance = (ms: number) => Promise.all([t.clock.advance(ms), second.clock.advance(ms)]);

/** A client of `member`'s session on the instance `at`. */
const sessionAt = (at: TestServer, member: Member): Client => at.client(member.session);

const signIn = (at: TestServer, username: string, password: string) =>
  login({ client: at.client(), body: { username, password } });

describe('the key that seals secrets', () => {
  it('must be given on PostgreSQL: every instance opens what the others sealed (TOTP, directory passwords)', async () => {
    await expect(
      startServer({ database: 'postgres://meridian@127.0.0.1:1/meridian', auditKey: 'k'.repeat(32) }),
    ).rejects.toThrow(/MERIDIAN_WEBHOOK_SECRETS_KEY is required with PostgreSQL/);
  });
});

/**
 * Waits (real time: for another process) until a statement on `database` waits for a lock, as an
 * insert does for the same key inserted by a transaction not committed yet.
 */
const waitingOnALock = (db: Kysely<Database>, database: string) =>
  vi.waitFor(
    async () => {
      const waiting = await sql<{ n: number }>`
        select count(*)::int as n from pg_stat_activity
        where datname = ${database} and wait_event_type = 'Lock'`.execute(db);
      expect(waiting.rows[0]!.n).toBe(1);
    },
    { timeout: 20_000, interval: 20 },
  );

/**
 * A transaction on `db` doing `write` (`written` once done), committed only when `commit` is
 * called (`done` once committed): another request's write, caught half-way.
 */
async function heldOpen(db: Kysely<Database>, write: (trx: Kysely<Database>) => Promise<unknown>) {
  let commit!: () => void;
  const committing = new Promise<void>((resolve) => {
    commit = resolve;
  });
  let written!: () => void;
  const writing = new Promise<void>((resolve) => {
    written = resolve;
  });
  const done = db.transaction().execute(async (trx) => {
    await write(trx);
    written();
    await committing;
  });
  await Promise.race([writing, done]);
  return { commit, done };
}

describe('instances starting at once on a fresh database', () => {
  it('starts the one that finds the bootstrap admin made by another while it hashed the password', async () => {
    const { rows } = await sql<{ port: number }>`select inet_server_port() as port`.execute(
      t.server.context.db,
    );
    await sql`create database bootstrap_race`.execute(t.server.context.db);
    const url = `postgres://meridian@127.0.0.1:${rows[0]!.port}/bootstrap_race`;
    const { db } = openDatabase(url);
    try {
      await migrateToLatest(db);
      // The other instance: its admin inserted, not committed yet.
      const now = new Date().toISOString();
      const other = await heldOpen(db, async (trx) =>
        trx
          .insertInto('users')
          .values({
            id: newId('usr'),
            username: ADMIN.username,
            display_name: 'Administrator',
            email: null,
            role: 'admin',
            disabled: 0,
            password_hash: await hashPassword(ADMIN.password, 2 ** 10),
            created_at: now,
            updated_at: now,
            last_login_at: null,
          })
          .execute(),
      );
      const starting = startTestServer({ database: url });
      // This one found no user, and its insert now waits for the other's.
      await waitingOnALock(db, 'bootstrap_race');
      other.commit();
      await other.done;
      const started = await starting;
      expect(started.server.bootstrap).toBeNull();
      await started.close();
      expect(await db.selectFrom('users').select('username').execute()).toEqual([
        { username: ADMIN.username },
      ]);
    } finally {
      await db.destroy();
    }
  });
});

describe('multi-factor authentication on two instances', () => {
  /** A new operator, TOTP set up on the first instance and confirmed on the second. */
  async function enrolled() {
    const member = await addMember(t, 'operator', []);
    const setup = ok(await setupTotp({ client: sessionAt(t, member) }));
    const totp = new TOTP({ secret: Secret.fromBase32(setup.secret) });
    const code = totp.generate({ timestamp: t.clock.now().getTime() });
    ok(await confirmTotp({ client: sessionAt(second, member), body: { code } }));
    return { ...member, totp, code };
  }

  async function challenge(at: TestServer, member: Member): Promise<string> {
    const answer = await signIn(at, member.user.username, member.password);
    return (expectProblem(answer, 401, 'mfa_required') as MfaRequiredProblem).mfa_challenge!.token;
  }

  const verify = (at: TestServer, challenge_token: string, code: string) =>
    verifyMfa({ client: at.client(), body: { challenge_token, code } });

  it('accepts a TOTP code once: a code one instance took is refused by the other', async () => {
    const member = await enrolled();
    // The code that confirmed the setup on the second instance is used up on the first.
    expectProblem(await verify(t, await challenge(t, member), member.code), 401, 'invalid_mfa_code');

    await advance(STEP_MS);
    const code = member.totp.generate({ timestamp: t.clock.now().getTime() });
    const first = await challenge(second, member);
    const other = await challenge(t, member);
    const session = ok(await verify(t, first, code));
    expect(ok(await getCurrentUser({ client: second.client(session.token) })).user.id).toBe(member.user.id);
    expectProblem(await verify(second, other, code), 401, 'invalid_mfa_code');
  });

  it("counts a challenge's wrong codes on both instances, ending it at the fifth", async () => {
    const member = await enrolled();
    await advance(STEP_MS);
    const token = await challenge(t, member);
    for (const at of [t, second, t, second, t])
      expectProblem(await verify(at, token, '000000'), 401, 'invalid_mfa_code');
    const code = member.totp.generate({ timestamp: t.clock.now().getTime() });
    expectProblem(await verify(second, token, code), 401, 'mfa_challenge_invalid');
    expectProblem(await verify(t, token, code), 401, 'mfa_challenge_invalid');
  });

  it('completes one challenge once, even sent with a good code to both instances at the same time', async () => {
    const member = await enrolled();
    await advance(STEP_MS);
    const token = await challenge(second, member);
    const code = member.totp.generate({ timestamp: t.clock.now().getTime() });
    const answers = await Promise.all([verify(t, token, code), verify(second, token, code)]);
    expect(answers.map((answer) => answer.response.status).sort()).toEqual([200, 401]);
  });
});

describe('passkeys on two instances', () => {
  const verify = (at: TestServer, credential: ReturnType<SoftwareAuthenticator['authenticate']>) =>
    verifyPasskeyAuthentication({ client: at.client(), body: { credential } });

  it('registers through one instance and signs in through the other, each challenge good once in all', async () => {
    const member = await addMember(t, 'viewer', []);
    const authenticator = new SoftwareAuthenticator(ORIGIN);
    const registration = ok(await createPasskeyRegistrationOptions({ client: sessionAt(t, member) }));
    ok(
      await verifyPasskeyRegistration({
        client: sessionAt(second, member),
        body: { credential: authenticator.register(registration) },
      }),
    );

    const options = ok(await createPasskeyAuthenticationOptions({ client: t.client() }));
    const answer = authenticator.authenticate(options);
    expect(ok(await verify(second, answer)).user.id).toBe(member.user.id);
    expectProblem(await verify(t, answer), 401, 'passkey_challenge_invalid');
    expectProblem(await verify(second, answer), 401, 'passkey_challenge_invalid');

    // One answer sent to both at once: one session.
    const racing = authenticator.authenticate(
      ok(await createPasskeyAuthenticationOptions({ client: second.client() })),
    );
    const answers = await Promise.all([verify(t, racing), verify(second, racing)]);
    expect(answers.map((result) => result.response.status).sort()).toEqual([200, 401]);
  });
});

describe('lockout on two instances', () => {
  it('counts the failures made on both, and an unlock on one frees the username on both', async () => {
    const member = await addMember(t, 'viewer', []);
    const { username } = member.user;
    for (const at of [t, second, t, second])
      expectProblem(await signIn(at, username, 'wrong-password'), 401, 'invalid_credentials');
    for (const at of [t, second])
      expectProblem(await signIn(at, username, member.password), 401, 'account_locked');
    expect(
      ok(await getUser({ client: t.admin, path: { user_id: member.user.id } })).locked_until,
    ).not.toBeNull();

    ok(await unlockUser({ client: second.admin, path: { user_id: member.user.id } }));
    expect(ok(await getUser({ client: t.admin, path: { user_id: member.user.id } })).locked_until).toBeNull();
    ok(await signIn(t, username, member.password));
    // The unlock forgot the failures: counting starts again from none.
    for (let i = 1; i < LOCKOUT_THRESHOLD; i++) await signIn(i % 2 ? t : second, username, 'wrong-password');
    ok(await signIn(second, username, member.password));
  });
});

describe('sessions and credentials on two instances', () => {
  it('refuses on one instance a session revoked on the other, though it had just verified it', async () => {
    const member = await addMember(t, 'viewer', []);
    ok(await getCurrentUser({ client: sessionAt(second, member) }));
    const { id } = ok(await listSessions({ client: sessionAt(t, member) })).data[0]!;
    expect(
      (await revokeSession({ client: sessionAt(t, member), path: { session_id: id } })).response.status,
    ).toBe(204);
    await heardBy(t, second);
    expectProblem(await getCurrentUser({ client: sessionAt(second, member) }), 401, 'session_expired');
  });

  it('refuses on one instance the sessions an admin ended on the other', async () => {
    const member = await addMember(t, 'operator', []);
    ok(await getCurrentUser({ client: sessionAt(t, member) }));
    ok(await revokeUserSessions({ client: second.admin, path: { user_id: member.user.id } }));
    await heardBy(second, t);
    expectProblem(await getCurrentUser({ client: sessionAt(t, member) }), 401, 'session_expired');
  });

  it('applies on one instance the role bindings changed on the other, to sessions and API tokens', async () => {
    const site = await addSite(t);
    const member = await addMember(t, 'operator', [site.id]);
    const token = await apiToken(sessionAt(t, member), ['devices:read', 'devices:write']);
    const device = await addDevice(t, site.id);
    const rename = (client: Client) =>
      updateDevice({ client, path: { device_id: device.id }, body: { name: unique('device') } });
    ok(await rename(sessionAt(second, member)));
    ok(await rename(second.client(token)));

    ok(
      await updateUser({
        client: t.admin,
        path: { user_id: member.user.id },
        body: { role: 'viewer', site_ids: [site.id] },
      }),
    );
    await heardBy(t, second);
    expectProblem(await rename(sessionAt(second, member)), 403, 'insufficient_scope');
    expectProblem(await rename(second.client(token)), 403, 'insufficient_scope');
  });

  it('takes a password reset token once in all, ending the sessions on both instances', async () => {
    const member = await addMember(t, 'operator', []);
    for (const at of [t, second]) ok(await getCurrentUser({ client: sessionAt(at, member) }));
    const { token } = ok(
      await createPasswordResetToken({ client: t.admin, path: { user_id: member.user.id }, body: {} }),
    );
    const reset = (at: TestServer, new_password: string) =>
      resetPasswordWithToken({ client: at.client(), body: { token, new_password } });
    // Sent to both at once: one of them takes it.
    const passwords = ['first-new-password-of-them', 'second-new-password-of-them'];
    const answers = await Promise.all([reset(t, passwords[0]!), reset(second, passwords[1]!)]);
    expect(answers.map((answer) => answer.response.status).sort()).toEqual([204, 422]);
    const won = answers[0]!.response.status === 204 ? 0 : 1;
    const [winner, other] = won === 0 ? [t, second] : [second, t];
    // The other instance had just verified the session too.
    await heardBy(winner, other);
    expectProblem(await getCurrentUser({ client: sessionAt(other, member) }), 401, 'session_expired');
    for (const at of [t, second])
      expectProblem(await reset(at, 'third-new-password-of-them'), 422, 'invalid_reset_token');
    ok(await signIn(other, member.user.username, passwords[won]!));
    expectProblem(await signIn(winner, member.user.username, member.password), 401, 'invalid_credentials');
  });
});

describe('directory sign-in (LDAP, a real slapd) on two instances', () => {
  const PEOPLE = `ou=people,${SUFFIX}`;
  const OPERATORS = `cn=operators,ou=groups,${SUFFIX}`;
  let slapd: Slapd;
  beforeAll(async () => {
    slapd = await startSlapd();
    slapd.add(
      [
        `dn: ${PEOPLE}\nobjectClass: organizationalUnit\nou: people\n`,
        `dn: ou=groups,${SUFFIX}\nobjectClass: organizationalUnit\nou: groups\n`,
        `dn: uid=grace,${PEOPLE}\nobjectClass: inetOrgPerson\nuid: grace\ncn: Grace\nsn: Hopper\nmail: grace@example.com\nuserPassword: grace-directory-password\n`,
        `dn: uid=linus,${PEOPLE}\nobjectClass: inetOrgPerson\nuid: linus\ncn: Linus\nsn: Pauling\nmail: linus@example.com\nuserPassword: linus-directory-password\n`,
        `dn: ${OPERATORS}\nobjectClass: groupOfNames\ncn: operators\nmember: uid=grace,${PEOPLE}\nmember: uid=linus,${PEOPLE}\n`,
      ].join('\n'),
    );
  }, 60_000);
  afterAll(() => slapd?.stop());

  it('signs in through the other instance with a provider one made (its bind password sealed), one user for both', async () => {
    const provider = ok(
      await createIdentityProvider({
        client: t.admin,
        body: {
          name: unique('Directory'),
          kind: 'ldap',
          ldap: {
            url: slapd.url,
            bind_dn: ADMIN_DN,
            bind_password: ADMIN_PASSWORD,
            user_search_base: PEOPLE,
          },
          role_mappings: [{ match: OPERATORS, role: 'operator' }],
        },
      }),
    );
    const ldap = (at: TestServer, password: string) =>
      ldapLogin({
        client: at.client(),
        path: { provider_id: provider.id },
        body: { username: 'grace', password },
      });
    const first = ok(await ldap(second, 'grace-directory-password'));
    expect(first.user).toMatchObject({ username: 'grace', role: 'operator', source: 'ldap' });
    const again = ok(await ldap(t, 'grace-directory-password'));
    expect(again.user.id).toBe(first.user.id);
    expect(ok(await getCurrentUser({ client: t.client(first.token) })).user.id).toBe(first.user.id);
    expectProblem(await ldap(t, 'not-her-password'), 401, 'invalid_credentials');
  });

  it('signs a directory user in whose first sign-in another request is making at the same time: one user', async () => {
    const provider = ok(
      await createIdentityProvider({
        client: second.admin,
        body: {
          name: unique('Directory'),
          kind: 'ldap',
          ldap: {
            url: slapd.url,
            bind_dn: ADMIN_DN,
            bind_password: ADMIN_PASSWORD,
            user_search_base: PEOPLE,
          },
          role_mappings: [{ match: OPERATORS, role: 'operator' }],
        },
      }),
    );
    const ldap = (at: TestServer) =>
      ldapLogin({
        client: at.client(),
        path: { provider_id: provider.id },
        body: { username: 'linus', password: 'linus-directory-password' },
      });
    // The other request: the just-in-time user inserted, not committed yet.
    const now = new Date().toISOString();
    const id = newId('usr');
    const other = await heldOpen(t.server.context.db, (trx) =>
      trx
        .insertInto('users')
        .values({
          id,
          username: 'linus',
          display_name: 'Linus',
          email: 'linus@example.com',
          role: 'viewer',
          disabled: 0,
          password_hash: '!external',
          created_at: now,
          updated_at: now,
          last_login_at: null,
          source: 'ldap',
          identity_provider_id: provider.id,
          external_id: `uid=linus,${PEOPLE}`,
        })
        .execute(),
    );
    const signingIn = ldap(second);
    await waitingOnALock(t.server.context.db, 'postgres');
    other.commit();
    await other.done;
    expect(ok(await signingIn).user).toMatchObject({
      id,
      username: 'linus',
      role: 'operator',
      source: 'ldap',
    });
    // Signing in on both at once again and again: the same user each time.
    for (let round = 0; round < 3; round++) {
      const sessions = (await Promise.all([ldap(t), ldap(second)])).map((answer) => ok(answer));
      expect(sessions.map((session) => session.user.id)).toEqual([id, id]);
    }
  });
});

describe('OpenID Connect sign-in (oidc-provider, in Chromium) on two instances', () => {
  const CLIENT_SECRET = 'meridian-client-secret-at-the-provider';
  let idp: Server;
  let balancer: Server;
  let browser: Browser;
  /** Where the load balancer sends a request. */
  let pick: (path: string) => TestServer = () => t;

  /** The load balancer: one address for both instances, which see its Host header as browsers send it. */
  function balance(req: IncomingMessage, res: ServerResponse) {
    const upstream = new URL(pick(req.url!).url);
    const forwarded = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on('error', (error) => res.destroy(error));
    req.pipe(forwarded);
  }

  const listen = async (server: Server) => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  let publicUrl: string;
  let providerId: string;

  beforeAll(async () => {
    balancer = createServer(balance);
    publicUrl = await listen(balancer);
    idp = createServer();
    const issuer = await listen(idp);
    providerId = ok(
      await createIdentityProvider({
        client: second.admin,
        body: {
          name: unique('Company SSO'),
          kind: 'oidc',
          oidc: {
            issuer,
            client_id: 'meridian',
            client_secret: CLIENT_SECRET,
            scopes: ['openid', 'email', 'profile'],
          },
          default_role: 'viewer',
        },
      }),
    ).id;
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: 'meridian',
          client_secret: CLIENT_SECRET,
          redirect_uris: [`${publicUrl}/v1/auth/oidc/${providerId}/callback`],
        },
      ],
      claims: { email: ['email', 'email_verified'], profile: ['name', 'preferred_username'] },
      findAccount: (_ctx, id) => ({
        accountId: id,
        claims: () => ({
          sub: `subject-${id}`,
          preferred_username: id,
          email: `${id}@example.com`,
          email_verified: true,
        }),
      }),
      // Every consent given at once: the test is about Meridian, not the provider's consent screen.
      loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
        const grant = new ctx.oidc.provider.Grant({
          clientId: ctx.oidc.client!.clientId,
          accountId: ctx.oidc.session!.accountId!,
        });
        grant.addOIDCScope('openid email profile');
        await grant.save();
        return grant;
      },
      features: { devInteractions: { enabled: true } },
      cookies: { keys: ['oidc-provider-test-cookie-key'] },
    });
    idp.on('request', provider.callback());
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => idp?.close(resolve));
    await new Promise((resolve) => balancer?.close(resolve));
  });

  it('finishes on one instance the sign-in the other started (its state, nonce and PKCE verifier sealed in the flow cookie)', async () => {
    const callbacks: string[] = [];
    // The sign-in starts on the first instance, the provider's redirect back lands on the second.
    pick = (path) => {
      if (!path.includes('/callback')) return t;
      callbacks.push(path);
      return second;
    };
    const context = await browser.newContext();
    await context.route(
      (url) => url.hostname !== '127.0.0.1',
      (route) => route.abort(),
    );
    const page = await context.newPage();
    await page.goto(`${publicUrl}/v1/auth/oidc/${providerId}/login?return_to=/docs`);
    await page.locator('input[name="login"]').fill('hedy');
    await page.locator('input[name="password"]').fill('any password will do');
    await page.locator('button[type="submit"]').click();
    await page.waitForURL(`${publicUrl}/docs`);
    expect(callbacks).toHaveLength(1);
    const me = await page.evaluate(async () => {
      const response = await fetch('/v1/auth/me');
      return { status: response.status, body: await response.json() };
    });
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({ username: 'hedy', role: 'viewer', source: 'oidc' });
    await context.close();
  }, 120_000);

  it('starts sign-ins on one instance with the provider as the other changed it', async () => {
    const start = () => startOidcSignIn({ client: second.client(), path: { provider_id: providerId } });
    ok(await start());
    const changed = await updateIdentityProvider({
      client: t.admin,
      path: { provider_id: providerId },
      body: { oidc: { issuer: 'http://127.0.0.1:1', client_id: 'meridian', client_secret: CLIENT_SECRET } },
    });
    expect(changed.response.status).toBe(200);
    expectProblem(await start(), 502, 'identity_provider_unreachable');
  });
});

/**
 * OpenID Connect sign-in end to end: a real OpenID provider (oidc-provider, its development login
 * form) started here, and Debian's Chromium (playwright-core) going from Meridian's login route
 * through the provider's form and back to Meridian's callback, ending on /docs signed in (the
 * session cookie works for GET /v1/auth/me), as a user created just in time with the role the
 * `groups` claim maps to and `source: oidc`. Then the JSON forms of both routes through the SDK,
 * and each refusal: an unknown or foreign flow (400), the provider's error and a replayed code
 * (401), a user outside the allowed domains (403), a username a local account holds (409). A user
 * with MFA on in Meridian passes it after the callback: the browser lands with the challenge in the
 * URL fragment (never in a URL a server sees) and completes it, a JSON client gets 401 mfa_required;
 * unless the ID token's `amr` names a method the provider is trusted for (`trusted_amr`). The
 * discovery document is read once for many sign-ins, again when the provider changes; behind a
 * proxy (MERIDIAN_PUBLIC_URL) the redirect URI and the flow cookie's path are the public ones. A
 * role mapping limited to sites binds its role on those sites only.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createIdentityProvider,
  createUser,
  finishOidcSignIn,
  getCurrentUser,
  type MfaRequiredProblem,
  type Session,
  setupTotp,
  confirmTotp,
  startOidcSignIn,
  updateIdentityProvider,
  verifyMfa,
} from '@meridian/sdk';
import { Secret, TOTP } from 'otpauth';
import { cookieHeader, cookiesOf } from './support/cookies';
import { expectProblem } from './support/problem';
import { launchChromium } from './support/programs';
import { ok } from './support/server';
import { snapshot } from './support/snapshot';
import { useTestServer } from './support/use-test-server';
import { addSite } from './support/world';
import { clearFailures, recordFailure } from '../server-stub/src/auth/lockout';

const TIMEOUT_MS = 120_000;
const CLIENT_SECRET = 'meridian-client-secret-at-the-provider';
/** The built-in operator role (its fixed ID). */
const OPERATOR_ROLE = 'rol_0000000000000000020PERAT0R';

/** The provider's accounts: the development login form takes any password, the login names these. */
const ACCOUNTS: Record<string, { email: string; name: string; groups: string[]; amr?: string[] }> = {
  ada: { email: 'ada@example.com', name: 'Ada Lovelace', groups: ['meridian-operators'] },
  eve: { email: 'eve@elsewhere.org', name: 'Eve Outsider', groups: ['meridian-operators'] },
  taken: { email: 'taken@example.com', name: 'Taken Name', groups: [] },
  // Users who turn Meridian's MFA on: the provider checks only hopper's password, lamarr's OTP too.
  hopper: { email: 'hopper@example.com', name: 'Grace Hopper', groups: [], amr: ['pwd'] },
  lamarr: { email: 'lamarr@example.com', name: 'Hedy Lamarr', groups: [], amr: ['pwd', 'otp'] },
};
const OIDC_SETTINGS = {
  client_id: 'meridian',
  client_secret: CLIENT_SECRET,
  scopes: ['openid', 'email', 'profile', 'groups'],
  role_claim: 'groups',
};

const t = useTestServer();
let idp: Server;
let issuer: string;
let providerId: string;
let browser: Browser;
/** How many times the provider's discovery document was read. */
let discoveryReads = 0;

/** Every consent granted at once: the test is about Meridian, not the provider's consent screen. */
async function grantEverything(ctx: KoaContextWithOIDC) {
  const { oidc } = ctx;
  const grant = new oidc.provider.Grant({
    clientId: oidc.client!.clientId,
    accountId: oidc.session!.accountId!,
  });
  grant.addOIDCScope('openid email profile groups');
  await grant.save();
  return grant;
}

beforeAll(async () => {
  idp = createServer();
  idp.on('request', (request) => {
    if (request.url === '/.well-known/openid-configuration') discoveryReads++;
  });
  await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  providerId = ok(
    await createIdentityProvider({
      client: t.admin,
      body: {
        name: 'Test provider',
        kind: 'oidc',
        oidc: { issuer, ...OIDC_SETTINGS },
        allowed_domains: ['example.com'],
        role_mappings: [{ match: 'meridian-operators', role: 'operator' }],
        default_role: 'viewer',
      },
    }),
  ).id;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'meridian',
        client_secret: CLIENT_SECRET,
        redirect_uris: [`${t.url}/v1/auth/oidc/${providerId}/callback`],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    claims: {
      // The login's authentication methods in every ID token, as providers that report them do.
      openid: ['sub', 'amr'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
      groups: ['groups'],
    },
    findAccount: (_ctx, id) => ({
      accountId: id,
      claims: () => ({
        sub: `subject-${id}`,
        preferred_username: id,
        email: ACCOUNTS[id]?.email,
        email_verified: true,
        name: ACCOUNTS[id]?.name,
        groups: ACCOUNTS[id]?.groups,
      }),
    }),
    loadExistingGrant: grantEverything,
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['oidc-provider-test-cookie-key'] },
  });
  // The development login form records no authentication methods: the account's `amr` is added
  // to the login, so the provider puts it in the ID token as after a real second factor.
  const finished = provider.interactionFinished.bind(provider);
  provider.interactionFinished = (...[req, res, result, options]: Parameters<typeof finished>) => {
    const { login } = result;
    const amr = login && ACCOUNTS[login.accountId]?.amr;
    return finished(req, res, login && amr ? { ...result, login: { ...login, amr } } : result, options);
  };
  idp.on('request', provider.callback());
  browser = await launchChromium();
}, TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => idp?.close(resolve));
});

/** A fresh browser (no session at the provider yet) that reaches nothing beyond this machine (the provider's page asks for web fonts). */
async function newContext(): Promise<BrowserContext> {
  const context = await browser.newContext();
  await context.route(
    (url) => url.hostname !== '127.0.0.1',
    (route) => route.abort(),
  );
  return context;
}

/** Signs in at the provider's form. */
async function signInAtProvider(context: BrowserContext, start: string, login: string) {
  const page = await context.newPage();
  await page.goto(start);
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password will do');
  await page.locator('button[type="submit"]').click();
  return page;
}

/**
 * The callback URL the provider sends `login`'s browser to, for a start made through the SDK
 * (JSON), and that start's flow cookie. The browser lacks the cookie, so Meridian refuses its
 * callback (400) before using the code, which the SDK then brings with the cookie.
 */
async function authorize(login: string): Promise<{ callback: URL; cookie: string }> {
  const started = await startOidcSignIn({ client: t.client(), path: { provider_id: providerId } });
  const context = await newContext();
  try {
    const page = await signInAtProvider(context, ok(started).authorization_url, login);
    await page.waitForURL((url) => url.href.startsWith(`${t.url}/`));
    return { callback: new URL(page.url()), cookie: cookieHeader(cookiesOf(started.response)) };
  } finally {
    await context.close();
  }
}

const finish = (callback: URL, cookie?: string) =>
  finishOidcSignIn({
    client: t.client(undefined, cookie === undefined ? undefined : { Cookie: cookie }),
    path: { provider_id: providerId },
    query: Object.fromEntries(callback.searchParams),
  });

describe('OpenID Connect sign-in', () => {
  it(
    'takes a browser from Meridian through the provider’s login form and back, signed in, onto /docs',
    async () => {
      const context = await newContext();
      const page = await signInAtProvider(
        context,
        `${t.url}/v1/auth/oidc/${providerId}/login?return_to=/docs`,
        'ada',
      );
      await page.waitForURL(`${t.url}/docs`);
      const me = await page.evaluate(async () => {
        const response = await fetch('/v1/auth/me');
        return { status: response.status, body: await response.json() };
      });
      expect(me.status).toBe(200);
      expect(me.body.auth_method).toBe('session');
      expect(me.body.user).toMatchObject({
        username: 'ada',
        email: 'ada@example.com',
        display_name: 'Ada Lovelace',
        role: 'operator',
        source: 'oidc',
      });
      const cookies = await context.cookies(t.url);
      expect(cookies.find((cookie) => cookie.name === 'meridian_session')).toMatchObject({ httpOnly: true });
      // The flow's cookie is gone once used.
      expect(cookies.map((cookie) => cookie.name)).not.toContain('meridian_oidc');
      await context.close();
    },
    TIMEOUT_MS,
  );

  it(
    'answers JSON clients: the authorization URL (PKCE, state, nonce), then the session',
    async () => {
      const started = ok(await startOidcSignIn({ client: t.client(), path: { provider_id: providerId } }));
      const url = new URL(started.authorization_url);
      expect(url.origin).toBe(issuer);
      expect(Object.fromEntries(url.searchParams)).toMatchObject({
        client_id: 'meridian',
        response_type: 'code',
        redirect_uri: `${t.url}/v1/auth/oidc/${providerId}/callback`,
        scope: 'openid email profile groups',
        code_challenge_method: 'S256',
        code_challenge: expect.stringMatching(/^[\w-]{43}$/),
        state: expect.any(String),
        nonce: expect.any(String),
      });
      const { callback, cookie } = await authorize('ada');
      const session = ok(await finish(callback, cookie));
      expect(session.user).toMatchObject({ username: 'ada', source: 'oidc', role: 'operator' });
      expect(ok(await getCurrentUser({ client: t.client(session.token) })).user.id).toBe(session.user.id);
      // The code was used: the same answer again is refused by the provider.
      expectProblem(await finish(callback, cookie), 401, 'oidc_sign_in_failed');
    },
    TIMEOUT_MS,
  );

  it('refuses a callback without the flow’s cookie, or with the state of another flow (400)', async () => {
    const before = await snapshot(t);
    const started = await startOidcSignIn({ client: t.client(), path: { provider_id: providerId } });
    const cookie = cookieHeader(cookiesOf(started.response));
    const state = new URL(ok(started).authorization_url).searchParams.get('state')!;
    expectProblem(await finish(new URL(`${t.url}/cb?code=abc&state=${state}`)), 400, 'oidc_state_invalid');
    expectProblem(
      await finish(new URL(`${t.url}/cb?code=abc&state=other`), cookie),
      400,
      'oidc_state_invalid',
    );
    expect(await snapshot(t)).toBe(before);
  });

  it(
    'refuses a locked account at the callback (401 account_locked), as every other way in',
    async () => {
      const first = await authorize('ada');
      ok(await finish(first.callback, first.cookie));
      // Locked as after too many failed sign-ins (here one, at a threshold of one).
      const lockAtOnce = { threshold: 1, windowMinutes: 10, lockMinutes: 15 };
      await recordFailure({ ...t.server.context, lockout: lockAtOnce }, 'ada');
      try {
        const locked = await authorize('ada');
        expectProblem(await finish(locked.callback, locked.cookie), 401, 'account_locked');
      } finally {
        await clearFailures(t.server.context, 'ada');
      }
    },
    TIMEOUT_MS,
  );

  it('refuses the provider’s error answer (401)', async () => {
    const started = await startOidcSignIn({ client: t.client(), path: { provider_id: providerId } });
    const state = new URL(ok(started).authorization_url).searchParams.get('state')!;
    const refused = expectProblem(
      await finish(
        new URL(`${t.url}/cb?error=access_denied&error_description=cancelled&state=${state}`),
        cookieHeader(cookiesOf(started.response)),
      ),
      401,
      'oidc_sign_in_failed',
    );
    expect(refused.detail).toContain('access_denied: cancelled');
  });

  it(
    'refuses a user outside the allowed domains (403) and one whose username a local account holds (409)',
    async () => {
      const outsider = await authorize('eve');
      const before = await snapshot(t);
      expectProblem(await finish(outsider.callback, outsider.cookie), 403, 'identity_not_allowed');
      expect(await snapshot(t)).toBe(before);
      ok(
        await createUser({
          client: t.admin,
          body: { username: 'taken', password: 'a-long-enough-password', role: 'viewer' },
        }),
      );
      const clash = await authorize('taken');
      expectProblem(await finish(clash.callback, clash.cookie), 409, 'identity_conflict');
    },
    TIMEOUT_MS,
  );
});

describe('role mappings limited to sites', () => {
  it(
    'binds the mapped role on the mapping’s sites only, from the next sign-in',
    async () => {
      const site = await addSite(t);
      const mappings = (site_ids: string[] | null) =>
        updateIdentityProvider({
          client: t.admin,
          path: { provider_id: providerId },
          body: { role_mappings: [{ match: 'meridian-operators', role: 'operator', site_ids }] },
        });
      ok(await mappings([site.id]));
      try {
        const { callback, cookie } = await authorize('ada');
        const session = ok(await finish(callback, cookie));
        expect(session.user.role_bindings).toEqual([{ role_id: OPERATOR_ROLE, site_ids: [site.id] }]);
        expect(session.user.site_ids).toEqual([site.id]);
      } finally {
        ok(await mappings(null));
      }
    },
    TIMEOUT_MS,
  );
});

describe('OpenID Connect sign-in of a user with MFA on', () => {
  const STEP_MS = 30_000;
  /** The user's authenticator app, by login. */
  const apps = new Map<string, TOTP>();

  /** The next step's code of the app (a code is accepted once, so each use moves a step on). */
  async function nextCode(login: string): Promise<string> {
    await t.clock.advance(STEP_MS);
    return apps.get(login)!.generate({ timestamp: t.clock.now().getTime() });
  }

  /** Signs `login` in through the provider (JSON) and turns Meridian's MFA on for them. */
  async function enrol(login: string): Promise<void> {
    const { callback, cookie } = await authorize(login);
    const client = t.client(ok(await finish(callback, cookie)).token);
    const app = new TOTP({ secret: Secret.fromBase32(ok(await setupTotp({ client })).secret) });
    apps.set(login, app);
    ok(await confirmTotp({ client, body: { code: await nextCode(login) } }));
  }

  beforeAll(async () => {
    await enrol('hopper');
    await enrol('lamarr');
  }, TIMEOUT_MS);

  /** The JSON callback of `login`'s sign-in at the provider: the session, or the 401 mfa_required. */
  async function signInAsJson(login: string) {
    const { callback, cookie } = await authorize(login);
    return finish(callback, cookie);
  }

  const challengeOf = (result: Awaited<ReturnType<typeof finish>>): string => {
    const problem = expectProblem(result, 401, 'mfa_required') as MfaRequiredProblem;
    expect(problem.detail).toMatch(/^The identity provider vouched for you/);
    expect(Object.keys(cookiesOf(result.response))).not.toContain('meridian_session');
    return problem.mfa_challenge!.token;
  };

  it(
    'sends the browser back with the challenge in the URL fragment, and the page completes it with a code',
    async () => {
      const context = await newContext();
      // Every URL the browser asks a server for, with the page it was asked from.
      const sent: string[] = [];
      context.on('request', (request) => sent.push(`${request.url()} ${request.headers().referer ?? ''}`));
      const page = await signInAtProvider(
        context,
        `${t.url}/v1/auth/oidc/${providerId}/login?return_to=/docs`,
        'hopper',
      );
      await page.waitForURL((url) => url.href.startsWith(`${t.url}/docs#`));
      const fragment = new URLSearchParams(new URL(page.url()).hash.slice(1));
      const token = fragment.get('mfa_challenge')!;
      expect(token).toMatch(/^mmc_[\w-]{43}$/);
      expect(Date.parse(fragment.get('expires_at')!)).toBeGreaterThan(t.clock.now().getTime());
      // No session yet.
      const cookies = await context.cookies(t.url);
      expect(cookies.map((cookie) => cookie.name)).not.toContain('meridian_session');
      const call = (path: string, body?: unknown) =>
        page.evaluate(
          async ({ path, body }) => {
            const response = await fetch(path, {
              method: body === undefined ? 'GET' : 'POST',
              headers: { 'Content-Type': 'application/json' },
              ...(body === undefined ? {} : { body: JSON.stringify(body) }),
            });
            return { status: response.status, body: await response.json() };
          },
          { path, body },
        );
      expect((await call('/v1/auth/me')).status).toBe(401);
      // The page reads the fragment and completes the challenge, as a sign-in page would.
      const verified = await call('/v1/auth/mfa/verify', {
        challenge_token: token,
        code: await nextCode('hopper'),
      });
      expect(verified.status).toBe(200);
      const me = await call('/v1/auth/me');
      expect(me.status).toBe(200);
      expect(me.body.user).toMatchObject({ username: 'hopper', source: 'oidc', mfa_enabled: true });
      // The challenge never travelled in a URL or a Referer: no server (or its logs) saw it.
      expect(sent.length).toBeGreaterThan(3);
      expect(sent.filter((line) => line.includes(token))).toEqual([]);
      await context.close();
    },
    TIMEOUT_MS,
  );

  it(
    'answers a JSON client 401 mfa_required; POST /v1/auth/mfa/verify gives the session',
    async () => {
      const token = challengeOf(await signInAsJson('hopper'));
      const session: Session = ok(
        await verifyMfa({
          client: t.client(),
          body: { challenge_token: token, code: await nextCode('hopper') },
        }),
      );
      expect(session.user).toMatchObject({ username: 'hopper', source: 'oidc' });
      expect(ok(await getCurrentUser({ client: t.client(session.token) })).user.id).toBe(session.user.id);
    },
    TIMEOUT_MS,
  );

  it(
    'takes the provider’s word for a second factor only when its amr is one the provider is trusted for',
    async () => {
      // lamarr's ID token says amr [pwd, otp], but the provider is not trusted for any method yet.
      challengeOf(await signInAsJson('lamarr'));
      const trust = (trusted_amr: string[]) =>
        updateIdentityProvider({
          client: t.admin,
          path: { provider_id: providerId },
          body: { oidc: { issuer, ...OIDC_SETTINGS, trusted_amr } },
        });
      expect(ok(await trust(['otp', 'hwk'])).oidc?.trusted_amr).toEqual(['otp', 'hwk']);
      try {
        const session = ok(await signInAsJson('lamarr'));
        expect(session.user).toMatchObject({ username: 'lamarr', source: 'oidc', mfa_enabled: true });
        // hopper's ID token names only a password: Meridian still asks.
        challengeOf(await signInAsJson('hopper'));
      } finally {
        ok(await trust([]));
      }
    },
    TIMEOUT_MS,
  );
});

describe('the discovery document and the redirect URI', () => {
  const rename = async (name: string) =>
    ok(await updateIdentityProvider({ client: t.admin, path: { provider_id: providerId }, body: { name } }));

  it(
    'reads the discovery document once for many sign-ins, and again when the provider changes',
    async () => {
      await rename('Test provider, renamed');
      const before = discoveryReads;
      for (let i = 0; i < 3; i++)
        ok(await startOidcSignIn({ client: t.client(), path: { provider_id: providerId } }));
      const { callback, cookie } = await authorize('ada');
      ok(await finish(callback, cookie));
      expect(discoveryReads - before).toBe(1);
      // Any change of the provider (its settings might have changed) reads it again, once.
      await rename('Test provider');
      ok(await startOidcSignIn({ client: t.client(), path: { provider_id: providerId } }));
      ok(await startOidcSignIn({ client: t.client(), path: { provider_id: providerId } }));
      expect(discoveryReads - before).toBe(2);
    },
    TIMEOUT_MS,
  );

  describe('behind a proxy (MERIDIAN_PUBLIC_URL)', () => {
    const behind = useTestServer({ publicUrl: 'https://meridian.example.com/fleet' });

    it('sends the public callback URL as the redirect URI and scopes the flow cookie to its path', async () => {
      const provider = ok(
        await createIdentityProvider({
          client: behind.admin,
          body: {
            name: 'Behind a proxy',
            kind: 'oidc',
            oidc: { issuer, ...OIDC_SETTINGS },
            default_role: 'viewer',
          },
        }),
      );
      const started = await startOidcSignIn({ client: behind.client(), path: { provider_id: provider.id } });
      expect(new URL(ok(started).authorization_url).searchParams.get('redirect_uri')).toBe(
        `https://meridian.example.com/fleet/v1/auth/oidc/${provider.id}/callback`,
      );
      expect(started.response.headers.getSetCookie()).toEqual([
        expect.stringContaining(`; Path=/fleet/v1/auth/oidc/${provider.id}/;`),
      ]);
    });
  });
});

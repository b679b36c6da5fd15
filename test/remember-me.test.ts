/**
 * `remember_me` on every way in (issue 12 §3): a sign-in that asked for it and was answered
 * `mfa_required` gets the long session when its challenge is completed, by a code
 * (POST /v1/auth/mfa/verify) or by the user's passkey; one that did not ask gets the usual one.
 * An LDAP sign-in (a real slapd) takes `remember_me` as a password sign-in does.
 */
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  confirmTotp,
  createIdentityProvider,
  createPasskeyAuthenticationOptions,
  ldapLogin,
  listSessions,
  login,
  type MfaRequiredProblem,
  setupTotp,
  verifyMfa,
  verifyPasskeyAuthentication,
} from '@meridian/sdk';
import { ownOrigin, registerPasskey, SoftwareAuthenticator } from './support/authenticator';
import { expectProblem } from './support/problem';
import { ok } from './support/server';
import { ADMIN_DN, ADMIN_PASSWORD, type Slapd, startSlapdWithPerson, PEOPLE } from './support/slapd';
import { useTestServer } from './support/use-test-server';
import { addMember } from './support/world';

const HOUR = 3_600_000;
const t = useTestServer({ sessions: { idleMinutes: 60, lifetimeHours: 12, rememberDays: 30 } });

let slapd: Slapd;
beforeAll(async () => {
  slapd = await startSlapdWithPerson('rosa', 'rosa-directory-password');
}, 60_000);
afterAll(() => slapd?.stop());

/** How long a session signed in now lasts, in hours. */
const lifetimeHours = (session: { expires_at: string }) =>
  Math.round((Date.parse(session.expires_at) - t.clock.now().getTime()) / HOUR);

/** A member with MFA on (TOTP confirmed) and a passkey. */
async function mfaMember() {
  const member = await addMember(t, 'viewer', []);
  const setup = ok(await setupTotp({ client: member.client }));
  const totp = new TOTP({ secret: Secret.fromBase32(setup.secret) });
  ok(
    await confirmTotp({
      client: member.client,
      body: { code: totp.generate({ timestamp: t.clock.now().getTime() }) },
    }),
  );
  const authenticator = new SoftwareAuthenticator(ownOrigin(t));
  await registerPasskey(member.client, authenticator);
  const challenge = async (rememberMe: boolean) => {
    const answer = await login({
      client: t.client(),
      body: { username: member.user.username, password: member.password, remember_me: rememberMe },
    });
    return (expectProblem(answer, 401, 'mfa_required') as MfaRequiredProblem).mfa_challenge!.token;
  };
  return { ...member, totp, authenticator, challenge };
}

describe('remember_me through the second factor', () => {
  it('gives the session completed with a code the lifetime its sign-in asked for', async () => {
    const member = await mfaMember();
    await t.clock.advance(60_000);
    const code = () => member.totp.generate({ timestamp: t.clock.now().getTime() });
    const remembered = ok(
      await verifyMfa({
        client: t.client(),
        body: { challenge_token: await member.challenge(true), code: code() },
      }),
    );
    expect(lifetimeHours(remembered)).toBe(30 * 24);
    const listed = ok(await listSessions({ client: t.client(remembered.token) })).data;
    expect(listed.find((session) => session.current)).toMatchObject({ remember_me: true });

    await t.clock.advance(60_000);
    const usual = ok(
      await verifyMfa({
        client: t.client(),
        body: { challenge_token: await member.challenge(false), code: code() },
      }),
    );
    expect(lifetimeHours(usual)).toBe(12);
  });

  it("gives the session completed with the user's passkey the lifetime its sign-in asked for", async () => {
    const member = await mfaMember();
    const complete = async (token: string) => {
      const options = ok(await createPasskeyAuthenticationOptions({ client: t.client() }));
      const credential = member.authenticator.authenticate(options);
      return ok(
        await verifyPasskeyAuthentication({ client: t.client(), body: { credential, mfa_challenge: token } }),
      );
    };
    expect(lifetimeHours(await complete(await member.challenge(true)))).toBe(30 * 24);
    expect(lifetimeHours(await complete(await member.challenge(false)))).toBe(12);
  });
});

describe('remember_me at a directory sign-in', () => {
  it('gives an LDAP sign-in with remember_me the long session, and one without the usual', async () => {
    const provider = ok(
      await createIdentityProvider({
        client: t.admin,
        body: {
          name: 'Remembering directory',
          kind: 'ldap',
          enabled: true,
          ldap: {
            url: slapd.url,
            bind_dn: ADMIN_DN,
            bind_password: ADMIN_PASSWORD,
            user_search_base: PEOPLE,
          },
          default_role: 'viewer',
        },
      }),
    );
    const signIn = async (rememberMe?: boolean) =>
      ok(
        await ldapLogin({
          client: t.client(),
          path: { provider_id: provider.id },
          body: {
            username: 'rosa',
            password: 'rosa-directory-password',
            ...(rememberMe === undefined ? {} : { remember_me: rememberMe }),
          },
        }),
      );
    const remembered = await signIn(true);
    expect(lifetimeHours(remembered)).toBe(30 * 24);
    const listed = ok(await listSessions({ client: t.client(remembered.token) })).data;
    expect(listed.find((session) => session.current)).toMatchObject({ remember_me: true });
    expect(lifetimeHours(await signIn())).toBe(12);
  });
});

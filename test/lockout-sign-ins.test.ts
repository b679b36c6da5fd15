/**
 * Lockout beyond the password (issue 12 §3): failed directory sign-ins (LDAP, a real slapd) and
 * failed passkey sign-ins (a registered passkey whose answer does not verify) count toward a
 * username's lockout like wrong passwords, and a locked account signs in no way at all: not by
 * password, directory, passkey, nor by completing an MFA challenge begun before the lock (the
 * check every sign-in ends with, completeSignIn, that OIDC's callback goes through too).
 */
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  confirmTotp,
  createIdentityProvider,
  createPasskeyAuthenticationOptions,
  getUser,
  ldapLogin,
  login,
  type MfaRequiredProblem,
  setupTotp,
  unlockUser,
  verifyMfa,
  verifyPasskeyAuthentication,
} from '@meridian/sdk';
import { ownOrigin, registerPasskey, SoftwareAuthenticator } from './support/authenticator';
import { expectProblem } from './support/problem';
import { ok } from './support/server';
import { ADMIN_DN, ADMIN_PASSWORD, type Slapd, startSlapdWithPerson, PEOPLE } from './support/slapd';
import { useTestServer } from './support/use-test-server';
import { addMember, unique } from './support/world';

const MINUTE = 60_000;
const t = useTestServer({ lockout: { threshold: 3, windowMinutes: 10, lockMinutes: 15 } });

let slapd: Slapd;
beforeAll(async () => {
  slapd = await startSlapdWithPerson('lena', 'lena-directory-password');
}, 60_000);
afterAll(() => slapd?.stop());

async function directory(): Promise<string> {
  const provider = await createIdentityProvider({
    client: t.admin,
    body: {
      name: unique('Directory'),
      kind: 'ldap',
      enabled: true,
      ldap: { url: slapd.url, bind_dn: ADMIN_DN, bind_password: ADMIN_PASSWORD, user_search_base: PEOPLE },
      default_role: 'viewer',
    },
  });
  return ok(provider).id;
}

/** Signs in with the authenticator's passkey, its answer altered by `options`. */
async function passkeySignIn(
  authenticator: SoftwareAuthenticator,
  options: Parameters<SoftwareAuthenticator['authenticate']>[1] = {},
) {
  const challenge = ok(await createPasskeyAuthenticationOptions({ client: t.client() }));
  const credential = authenticator.authenticate(challenge, options);
  return verifyPasskeyAuthentication({ client: t.client(), body: { credential } });
}

describe('lockout of directory and passkey sign-ins', () => {
  it('counts wrong directory passwords, then refuses the right one without asking the directory, until unlocked', async () => {
    const providerId = await directory();
    const signIn = (password: string) =>
      ldapLogin({
        client: t.client(),
        path: { provider_id: providerId },
        body: { username: 'lena', password },
      });
    const lena = ok(await signIn('lena-directory-password')).user;
    for (let i = 0; i < 3; i++) expectProblem(await signIn('not-her-password'), 401, 'invalid_credentials');
    expectProblem(await signIn('lena-directory-password'), 401, 'account_locked');
    expect(ok(await getUser({ client: t.admin, path: { user_id: lena.id } })).locked_until).not.toBeNull();
    // Locked, the directory is not asked: even a provider whose directory is gone answers the lock.
    const gone = ok(
      await createIdentityProvider({
        client: t.admin,
        body: {
          name: unique('Gone'),
          kind: 'ldap',
          enabled: true,
          ldap: { url: 'ldap://127.0.0.1:9', user_search_base: PEOPLE },
          default_role: 'viewer',
        },
      }),
    );
    expectProblem(
      await ldapLogin({
        client: t.client(),
        path: { provider_id: gone.id },
        body: { username: 'lena', password: 'lena-directory-password' },
      }),
      401,
      'account_locked',
    );
    ok(await unlockUser({ client: t.admin, path: { user_id: lena.id } }));
    expect(ok(await signIn('lena-directory-password')).user.id).toBe(lena.id);
  });

  it('counts passkey answers that do not verify; a locked account is refused with a good passkey and with its password', async () => {
    const member = await addMember(t, 'viewer', []);
    const authenticator = new SoftwareAuthenticator(ownOrigin(t));
    await registerPasskey(member.client, authenticator);
    for (let i = 0; i < 3; i++)
      expectProblem(
        await passkeySignIn(authenticator, { origin: 'https://phishing.example' }),
        401,
        'passkey_verification_failed',
      );
    expectProblem(await passkeySignIn(authenticator), 401, 'account_locked');
    expectProblem(
      await login({
        client: t.client(),
        body: { username: member.user.username, password: member.password },
      }),
      401,
      'account_locked',
    );
    // Failures while locked do not lengthen the lock: it ends 15 minutes after it began.
    await t.clock.advance(10 * MINUTE);
    for (let i = 0; i < 3; i++)
      expectProblem(
        await passkeySignIn(authenticator, { origin: 'https://phishing.example' }),
        401,
        'passkey_verification_failed',
      );
    await t.clock.advance(5 * MINUTE);
    expect(ok(await passkeySignIn(authenticator)).user.id).toBe(member.user.id);
  });

  it('refuses to complete an MFA challenge begun before the account was locked', async () => {
    const member = await addMember(t, 'viewer', []);
    const setup = ok(await setupTotp({ client: member.client }));
    const totp = new TOTP({ secret: Secret.fromBase32(setup.secret) });
    ok(
      await confirmTotp({
        client: member.client,
        body: { code: totp.generate({ timestamp: t.clock.now().getTime() }) },
      }),
    );
    const credentials = { username: member.user.username, password: member.password };
    const challenged = expectProblem(
      await login({ client: t.client(), body: credentials }),
      401,
      'mfa_required',
    );
    const token = (challenged as MfaRequiredProblem).mfa_challenge!.token;
    for (let i = 0; i < 3; i++)
      expectProblem(
        await login({ client: t.client(), body: { ...credentials, password: 'wrong-password' } }),
        401,
        'invalid_credentials',
      );
    await t.clock.advance(MINUTE);
    const code = totp.generate({ timestamp: t.clock.now().getTime() });
    expectProblem(
      await verifyMfa({ client: t.client(), body: { challenge_token: token, code } }),
      401,
      'account_locked',
    );
  });
});

/**
 * Passkeys through the SDK, with a software authenticator (support/authenticator.ts: real keys,
 * signatures and CBOR): registering, signing in without a username, listing, renaming, deleting,
 * and every way a ceremony is refused — a challenge made up, used, expired, someone else's or of
 * the other ceremony; another origin; a credential registered twice; an unknown passkey; a
 * signature counter that goes backwards; a disabled user; an API token instead of a session.
 * A passkey satisfies MFA: it signs a user with MFA on in at once, and completes a password
 * sign-in's `mfa_required` challenge (only the challenged user's passkey, and only once).
 * The relying party ID and origins come from the settings. The browser ceremonies are in
 * passkeys-browser.test.ts.
 */
import { Secret, TOTP } from 'otpauth';
import { describe, expect, it } from 'vitest';
import {
  type Client,
  createApiToken,
  createPasskeyAuthenticationOptions,
  createPasskeyRegistrationOptions,
  deletePasskey,
  getCurrentUser,
  getUser,
  listPasskeys,
  login,
  type MfaRequiredProblem,
  setupTotp,
  confirmTotp,
  verifyMfa,
  updatePasskey,
  updateUser,
  verifyPasskeyAuthentication,
  verifyPasskeyRegistration,
} from '@meridian/sdk';
import { readConfig, serverOptions } from '../server-stub/src/config';
import { ownOrigin, registerPasskey, SoftwareAuthenticator } from './support/authenticator';
import { expectProblem } from './support/problem';
import { ok, type TestServer } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addMember, type Member, unique } from './support/world';

/** How long a ceremony's challenge stays good (the options' `timeout`). */
const CEREMONY_MS = 5 * 60 * 1000;

/**
 * Signs in with the authenticator's newest passkey (or as `options` alter its answer), completing
 * the MFA challenge `mfaChallenge` when one is given.
 */
async function signInWith(
  t: TestServer,
  authenticator: SoftwareAuthenticator,
  options: Parameters<SoftwareAuthenticator['authenticate']>[1] = {},
  mfaChallenge?: string,
) {
  const challenge = ok(await createPasskeyAuthenticationOptions({ client: t.client() }));
  const credential = authenticator.authenticate(challenge, options);
  const body = mfaChallenge === undefined ? { credential } : { credential, mfa_challenge: mfaChallenge };
  return verifyPasskeyAuthentication({ client: t.client(), body });
}

/** A new operator with MFA on (TOTP set up and confirmed) and a passkey: the app's TOTP. */
async function mfaMemberWithPasskey(t: TestServer) {
  const member = await addMember(t, 'operator', []);
  const setup = ok(await setupTotp({ client: member.client }));
  const totp = new TOTP({ secret: Secret.fromBase32(setup.secret) });
  const code = totp.generate({ timestamp: t.clock.now().getTime() });
  ok(await confirmTotp({ client: member.client, body: { code } }));
  const authenticator = new SoftwareAuthenticator(ownOrigin(t));
  await registerPasskey(member.client, authenticator);
  return { ...member, totp, authenticator };
}

/** Signs `member` in with the password: the `mfa_required` answer's challenge token. */
async function passwordChallenge(t: TestServer, member: Member): Promise<string> {
  const result = await login({
    client: t.client(),
    body: { username: member.user.username, password: member.password },
  });
  return (expectProblem(result, 401, 'mfa_required') as MfaRequiredProblem).mfa_challenge!.token;
}

describe('passkeys', () => {
  const t = useTestServer();

  it('registers a passkey and signs in with it without a username, as a session that satisfies MFA', async () => {
    const member = await addMember(t, 'operator', []);
    const authenticator = new SoftwareAuthenticator(ownOrigin(t));
    const options = ok(await createPasskeyRegistrationOptions({ client: member.client }));
    expect(options).toMatchObject({
      rp: { name: 'Meridian', id: 'localhost' },
      user: { name: member.user.username },
      attestation: 'none',
      excludeCredentials: [],
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      timeout: CEREMONY_MS,
    });
    const registered = await verifyPasskeyRegistration({
      client: member.client,
      body: { name: 'Work laptop', credential: authenticator.register(options) },
    });
    expect(registered.response.status).toBe(201);
    const passkey = ok(registered);
    expect(passkey).toMatchObject({
      id: expect.stringMatching(/^psk_/),
      name: 'Work laptop',
      last_used_at: null,
      backed_up: false,
      device_type: 'single_device',
      transports: ['internal'],
    });
    expect(ok(await getUser({ client: t.admin, path: { user_id: member.user.id } })).passkey_count).toBe(1);

    // The next registration excludes it, so an authenticator is not registered twice.
    const next = ok(await createPasskeyRegistrationOptions({ client: member.client }));
    expect(next.excludeCredentials).toEqual([
      {
        id: authenticator.credentials[0]!.id.toString('base64url'),
        type: 'public-key',
        transports: ['internal'],
      },
    ]);

    const signInStarted = t.clock.now().toISOString();
    const challenge = ok(await createPasskeyAuthenticationOptions({ client: t.client() }));
    expect(challenge).toMatchObject({
      rpId: 'localhost',
      userVerification: 'required',
      timeout: CEREMONY_MS,
    });
    expect(challenge).not.toHaveProperty('allowCredentials');
    const signedIn = ok(
      await verifyPasskeyAuthentication({
        client: t.client(),
        body: { credential: authenticator.authenticate(challenge) },
      }),
    );
    expect(signedIn).toMatchObject({ token_type: 'bearer', user: { id: member.user.id, passkey_count: 1 } });
    const me = ok(await getCurrentUser({ client: t.client(signedIn.token) }));
    expect(me).toMatchObject({ auth_method: 'session', user: { id: member.user.id } });
    const [listed] = ok(await listPasskeys({ client: t.client(signedIn.token) })).data;
    expect(listed!.id).toBe(passkey.id);
    expect(listed!.last_used_at! >= signInStarted).toBe(true);
  });

  it('lists, renames and deletes only your own passkeys; a deleted one signs nobody in', async () => {
    const owner = await addMember(t, 'viewer', []);
    const other = await addMember(t, 'viewer', []);
    const authenticator = new SoftwareAuthenticator(ownOrigin(t));
    const first = await registerPasskey(owner.client, authenticator, 'Phone');
    const second = await registerPasskey(owner.client, authenticator);
    expect(second.name).toBe(`Passkey (${t.clock.now().toISOString().slice(0, 10)})`);
    await registerPasskey(other.client, new SoftwareAuthenticator(ownOrigin(t)));

    const page = ok(await listPasskeys({ client: owner.client, query: { limit: 1 } }));
    expect(page.data.map((passkey) => passkey.id)).toEqual([first.id]);
    const rest = ok(await listPasskeys({ client: owner.client, query: { cursor: page.next_cursor! } }));
    expect(rest).toEqual({ data: [second], next_cursor: null });

    const renamed = ok(
      await updatePasskey({
        client: owner.client,
        path: { passkey_id: first.id },
        body: { name: 'Old phone' },
      }),
    );
    expect(renamed).toEqual({ ...first, name: 'Old phone' });
    const path = { passkey_id: first.id };
    expectProblem(
      await updatePasskey({ client: other.client, path, body: { name: 'Mine' } }),
      404,
      'not_found',
    );
    expectProblem(await deletePasskey({ client: other.client, path }), 404, 'not_found');

    expect((await deletePasskey({ client: owner.client, path })).response.status).toBe(204);
    expectProblem(await deletePasskey({ client: owner.client, path }), 404, 'not_found');
    expect(ok(await listPasskeys({ client: owner.client })).data).toEqual([second]);
    const deleted = authenticator.credentials[0]!;
    expectProblem(await signInWith(t, authenticator, { credential: deleted }), 401, 'passkey_unknown');
    expect(ok(await signInWith(t, authenticator)).user.id).toBe(owner.user.id);
  });

  it('refuses registration challenges made up, used, expired, of another user or of sign-in', async () => {
    const member = await addMember(t, 'viewer', []);
    const other = await addMember(t, 'viewer', []);
    const authenticator = new SoftwareAuthenticator(ownOrigin(t));
    const register = (client: Client, options: Parameters<SoftwareAuthenticator['register']>[0]) =>
      verifyPasskeyRegistration({ client, body: { credential: authenticator.register(options) } });
    const options = ok(await createPasskeyRegistrationOptions({ client: member.client }));

    const madeUp = { ...options, challenge: Buffer.from('made up').toString('base64url') };
    expectProblem(await register(member.client, madeUp), 422, 'passkey_challenge_invalid');
    expectProblem(await register(other.client, options), 422, 'passkey_challenge_invalid');
    const signIn = ok(await createPasskeyAuthenticationOptions({ client: t.client() }));
    expectProblem(
      await register(member.client, { ...options, challenge: signIn.challenge }),
      422,
      'passkey_challenge_invalid',
    );
    expect((await register(member.client, options)).response.status).toBe(201);
    expectProblem(await register(member.client, options), 422, 'passkey_challenge_invalid');

    const expiring = ok(await createPasskeyRegistrationOptions({ client: member.client }));
    await t.clock.advance(CEREMONY_MS + 1);
    const client = t.client(await t.signIn(member.user.username, member.password));
    expectProblem(await register(client, expiring), 422, 'passkey_challenge_invalid');
    expect(ok(await listPasskeys({ client })).data).toHaveLength(1);
  });

  it('refuses a registration from another origin, or of a passkey already registered', async () => {
    const member = await addMember(t, 'viewer', []);
    const authenticator = new SoftwareAuthenticator(ownOrigin(t));
    const options = ok(await createPasskeyRegistrationOptions({ client: member.client }));
    const fromElsewhere = authenticator.register(options, { origin: 'https://phishing.example' });
    const problem = expectProblem(
      await verifyPasskeyRegistration({ client: member.client, body: { credential: fromElsewhere } }),
      422,
      'passkey_verification_failed',
    );
    expect(problem.detail).toMatch(/origin/i);

    await registerPasskey(member.client, authenticator);
    // The same credential ID again, as an authenticator that ignored excludeCredentials would send it.
    const again = ok(await createPasskeyRegistrationOptions({ client: member.client }));
    const credential = authenticator.register(again, { id: authenticator.credentials.at(-1)!.id });
    expectProblem(
      await verifyPasskeyRegistration({ client: member.client, body: { credential } }),
      409,
      'passkey_already_registered',
    );
    expect(ok(await listPasskeys({ client: member.client })).data).toHaveLength(1);
  });

  it('refuses sign-in challenges made up, used (a replayed answer) or expired, and registration ones', async () => {
    const member = await addMember(t, 'viewer', []);
    const authenticator = new SoftwareAuthenticator(ownOrigin(t));
    await registerPasskey(member.client, authenticator);
    const options = ok(await createPasskeyAuthenticationOptions({ client: t.client() }));
    const verify = (credential: ReturnType<SoftwareAuthenticator['authenticate']>) =>
      verifyPasskeyAuthentication({ client: t.client(), body: { credential } });

    const madeUp = { ...options, challenge: Buffer.from('made up').toString('base64url') };
    expectProblem(await verify(authenticator.authenticate(madeUp)), 401, 'passkey_challenge_invalid');
    const registration = ok(await createPasskeyRegistrationOptions({ client: member.client }));
    expectProblem(
      await verify(authenticator.authenticate({ ...options, challenge: registration.challenge })),
      401,
      'passkey_challenge_invalid',
    );
    const answer = authenticator.authenticate(options);
    expect((await verify(answer)).response.status).toBe(200);
    expectProblem(await verify(answer), 401, 'passkey_challenge_invalid');

    const expiring = ok(await createPasskeyAuthenticationOptions({ client: t.client() }));
    await t.clock.advance(CEREMONY_MS + 1);
    expectProblem(await verify(authenticator.authenticate(expiring)), 401, 'passkey_challenge_invalid');
  });

  it('refuses a sign-in from another origin, with a counter that went backwards, or of a disabled user', async () => {
    const member = await addMember(t, 'viewer', []);
    const authenticator = new SoftwareAuthenticator(ownOrigin(t));
    await registerPasskey(member.client, authenticator);

    const elsewhere = expectProblem(
      await signInWith(t, authenticator, { origin: 'https://phishing.example' }),
      401,
      'passkey_verification_failed',
    );
    expect(elsewhere.detail).toMatch(/origin/i);

    expect((await signInWith(t, authenticator, { counter: 5 })).response.status).toBe(200);
    // A clone of the authenticator, or a recorded answer, shows a counter that did not move on.
    const cloned = expectProblem(
      await signInWith(t, authenticator, { counter: 5 }),
      401,
      'passkey_verification_failed',
    );
    expect(cloned.detail).toMatch(/counter/i);
    expect((await signInWith(t, authenticator, { counter: 6 })).response.status).toBe(200);

    ok(await updateUser({ client: t.admin, path: { user_id: member.user.id }, body: { disabled: true } }));
    expectProblem(await signInWith(t, authenticator), 401, 'invalid_credentials');
  });

  it('signs a user with MFA on in at once, without the mfa_required step', async () => {
    const member = await mfaMemberWithPasskey(t);
    expect(ok(await getUser({ client: t.admin, path: { user_id: member.user.id } })).mfa_enabled).toBe(true);
    const signedIn = ok(await signInWith(t, member.authenticator));
    expect(signedIn.user.id).toBe(member.user.id);
    expect(ok(await getCurrentUser({ client: t.client(signedIn.token) })).user.id).toBe(member.user.id);
  });

  it("completes a password sign-in's mfa_required challenge with the user's passkey, once", async () => {
    const member = await mfaMemberWithPasskey(t);
    const token = await passwordChallenge(t, member);
    const completed = await signInWith(t, member.authenticator, {}, token);
    const signedIn = ok(completed);
    expect(signedIn.user.id).toBe(member.user.id);
    expect(completed.response.headers.getSetCookie().length).toBe(2);
    expect(ok(await getCurrentUser({ client: t.client(signedIn.token) })).user.id).toBe(member.user.id);

    // The challenge is used up: neither a passkey nor a code completes it again.
    expectProblem(await signInWith(t, member.authenticator, {}, token), 401, 'mfa_challenge_invalid');
    const code = member.totp.generate({ timestamp: t.clock.now().getTime() + 30_000 });
    await t.clock.advance(30_000);
    expectProblem(
      await verifyMfa({ client: t.client(), body: { challenge_token: token, code } }),
      401,
      'mfa_challenge_invalid',
    );
    // A code completes a challenge the passkey did not (the challenge was good for the code too).
    const fresh = await passwordChallenge(t, member);
    ok(await verifyMfa({ client: t.client(), body: { challenge_token: fresh, code } }));
  });

  it("refuses another user's passkey for a challenge, as a wrong factor, and a made-up challenge", async () => {
    const member = await mfaMemberWithPasskey(t);
    const other = await addMember(t, 'viewer', []);
    const othersAuthenticator = new SoftwareAuthenticator(ownOrigin(t));
    await registerPasskey(other.client, othersAuthenticator);
    const token = await passwordChallenge(t, member);

    const refused = await signInWith(t, othersAuthenticator, {}, token);
    expectProblem(refused, 401, 'passkey_user_mismatch');
    expect(refused.response.headers.getSetCookie()).toEqual([]);
    // It counts against the challenge: four more wrong passkeys end it.
    for (let attempt = 2; attempt <= 5; attempt++)
      expectProblem(await signInWith(t, othersAuthenticator, {}, token), 401, 'passkey_user_mismatch');
    expectProblem(await signInWith(t, member.authenticator, {}, token), 401, 'mfa_challenge_invalid');

    // The right passkey completes a challenge after a wrong one.
    const next = await passwordChallenge(t, member);
    expectProblem(await signInWith(t, othersAuthenticator, {}, next), 401, 'passkey_user_mismatch');
    expect(ok(await signInWith(t, member.authenticator, {}, next)).user.id).toBe(member.user.id);

    const madeUp = `mmc_${'A'.repeat(43)}`;
    expectProblem(await signInWith(t, member.authenticator, {}, madeUp), 401, 'mfa_challenge_invalid');
  });

  it('needs a session, not an API token, to manage passkeys', async () => {
    const member = await addMember(t, 'viewer', []);
    const passkey = await registerPasskey(member.client, new SoftwareAuthenticator(ownOrigin(t)));
    const token = ok(
      await createApiToken({
        client: member.client,
        body: { name: unique('script'), scopes: ['tokens:read'] },
      }),
    ).token;
    const client = t.client(token);
    const path = { passkey_id: passkey.id };
    const options = ok(await createPasskeyRegistrationOptions({ client: member.client }));
    const credential = new SoftwareAuthenticator(ownOrigin(t)).register(options);
    for (const refused of [
      await createPasskeyRegistrationOptions({ client }),
      await verifyPasskeyRegistration({ client, body: { credential } }),
      await listPasskeys({ client }),
      await updatePasskey({ client, path, body: { name: 'Renamed by a script' } }),
      await deletePasskey({ client, path }),
    ])
      expectProblem(refused, 422, 'session_required');
    expect(ok(await listPasskeys({ client: member.client })).data).toEqual([passkey]);
  });
});

describe('passkeys bound to the configured relying party ID and origins', () => {
  const CONSOLE = 'https://console.meridian.localhost';
  const t = useTestServer({ webauthn: { rpId: 'meridian.localhost', origins: [CONSOLE] } });

  it('takes ceremonies from the allowed origins only, for passkeys of the configured RP ID', async () => {
    const member = await addMember(t, 'viewer', []);
    const authenticator = new SoftwareAuthenticator(CONSOLE);
    const options = ok(await createPasskeyRegistrationOptions({ client: member.client }));
    expect(options.rp.id).toBe('meridian.localhost');
    ok(
      await verifyPasskeyRegistration({
        client: member.client,
        body: { credential: authenticator.register(options) },
      }),
    );
    expect(ok(await signInWith(t, authenticator)).user.id).toBe(member.user.id);
    // The server's own address is not among the configured origins.
    expectProblem(
      await signInWith(t, authenticator, { origin: ownOrigin(t) }),
      401,
      'passkey_verification_failed',
    );
  });

  it('reads them from MERIDIAN_WEBAUTHN_RP_ID and MERIDIAN_WEBAUTHN_ORIGINS, and refuses origins off the RP ID', () => {
    // A database in memory: serverOptions writes no key file for it.
    const env = { MERIDIAN_DB: ':memory:', MERIDIAN_WEBAUTHN_RP_ID: 'meridian.example.com' };
    expect(serverOptions(readConfig(env)).webauthn).toEqual({ rpId: 'meridian.example.com' });
    expect(serverOptions(readConfig({ MERIDIAN_DB: ':memory:' })).webauthn).toEqual({ rpId: 'localhost' });
    const origins = 'https://meridian.example.com, https://console.meridian.example.com:8443';
    expect(serverOptions(readConfig({ ...env, MERIDIAN_WEBAUTHN_ORIGINS: origins })).webauthn).toEqual({
      rpId: 'meridian.example.com',
      origins: ['https://meridian.example.com', 'https://console.meridian.example.com:8443'],
    });
    expect(() => readConfig({ ...env, MERIDIAN_WEBAUTHN_ORIGINS: 'https://evil.example.org' })).toThrow(
      /MERIDIAN_WEBAUTHN_ORIGINS must list origins on MERIDIAN_WEBAUTHN_RP_ID \(meridian.example.com\)/,
    );
    expect(() => readConfig({ MERIDIAN_WEBAUTHN_RP_ID: 'https://meridian.example.com' })).toThrow(
      /MERIDIAN_WEBAUTHN_RP_ID must be a domain name/,
    );
  });
});

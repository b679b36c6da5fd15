/**
 * Multi-factor authentication through the SDK against the real server: TOTP set up (secret,
 * otpauth:// URI, QR code) and confirmed with a first code, sign-in answering `mfa_required` with
 * a challenge that POST /v1/auth/mfa/verify completes, no code accepted twice, one-time recovery
 * codes stored hashed, turning MFA off, new recovery codes, and an admin's reset.
 */
import {
  confirmTotp,
  createApiToken,
  disableTotp,
  getCurrentUser,
  login,
  type MfaRequiredProblem,
  regenerateRecoveryCodes,
  resetUserMfa,
  setupTotp,
  verifyMfa,
} from '@meridian/sdk';
import { Secret, TOTP, URI } from 'otpauth';
import { describe, expect, it } from 'vitest';
import { cookiesOf } from './support/cookies';
import { expectProblem } from './support/problem';
import { ok } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addMember, type Member } from './support/world';

const t = useTestServer();
const STEP_MS = 30_000;

interface Enrolled extends Member {
  totp: TOTP;
  recoveryCodes: string[];
}

/** The authenticator app: the code it shows at the server's time. */
const codeOf = (totp: TOTP): string => totp.generate({ timestamp: t.clock.now().getTime() });

/** The next step's code: codes are accepted once per step, so a second one waits for the next. */
async function nextCode(totp: TOTP): Promise<string> {
  await t.clock.advance(STEP_MS);
  return codeOf(totp);
}

/** A new operator with MFA on (set up and confirmed through the API). */
async function enrolled(): Promise<Enrolled> {
  const member = await addMember(t, 'operator', []);
  const setup = ok(await setupTotp({ client: member.client }));
  const totp = new TOTP({ secret: Secret.fromBase32(setup.secret) });
  const { recovery_codes } = ok(await confirmTotp({ client: member.client, body: { code: codeOf(totp) } }));
  return { ...member, totp, recoveryCodes: recovery_codes };
}

/** Signs in with the password: the `mfa_required` answer's challenge token. */
async function challenge(member: Member): Promise<string> {
  const result = await login({
    client: t.client(),
    body: { username: member.user.username, password: member.password },
  });
  const problem = expectProblem(result, 401, 'mfa_required') as MfaRequiredProblem;
  expect(result.response.headers.getSetCookie()).toEqual([]);
  return problem.mfa_challenge!.token;
}

const verify = (body: { challenge_token: string; code?: string; recovery_code?: string }) =>
  verifyMfa({ client: t.client(), body: body as { challenge_token: string; code: string } });

describe('setting TOTP up', () => {
  it('gives a secret, its otpauth:// URI and a QR code, and turns MFA on with a first code', async () => {
    const member = await addMember(t, 'viewer', []);
    const setup = ok(await setupTotp({ client: member.client }));
    const uri = URI.parse(setup.otpauth_uri) as TOTP;
    expect(uri).toBeInstanceOf(TOTP);
    expect(uri).toMatchObject({ issuer: 'Meridian', label: member.user.username, digits: 6, period: 30 });
    expect(uri.secret.base32).toBe(setup.secret);
    expect(setup.qr_code_svg).toMatch(
      /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"[\s\S]*<\/svg>\s*$/,
    );
    // Not on until confirmed: the password alone still signs in.
    ok(
      await login({
        client: t.client(),
        body: { username: member.user.username, password: member.password },
      }),
    );

    const totp = new TOTP({ secret: Secret.fromBase32(setup.secret) });
    const wrong = String((Number(codeOf(totp)) + 1) % 1_000_000).padStart(6, '0');
    expectProblem(
      await confirmTotp({ client: member.client, body: { code: wrong } }),
      422,
      'invalid_mfa_code',
    );
    const { recovery_codes } = ok(await confirmTotp({ client: member.client, body: { code: codeOf(totp) } }));
    expect(recovery_codes).toHaveLength(10);
    expect(new Set(recovery_codes).size).toBe(10);
    for (const code of recovery_codes) expect(code).toMatch(/^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
    expect(ok(await getCurrentUser({ client: member.client })).user.mfa_enabled).toBe(true);

    expectProblem(await setupTotp({ client: member.client }), 409, 'mfa_already_enabled');
    expectProblem(
      await confirmTotp({ client: member.client, body: { code: await nextCode(totp) } }),
      409,
      'mfa_already_enabled',
    );
  });

  it('replaces a secret not yet confirmed, and confirms only the newest one', async () => {
    const member = await addMember(t, 'viewer', []);
    const first = new TOTP({
      secret: Secret.fromBase32(ok(await setupTotp({ client: member.client })).secret),
    });
    const second = new TOTP({
      secret: Secret.fromBase32(ok(await setupTotp({ client: member.client })).secret),
    });
    expectProblem(
      await confirmTotp({ client: member.client, body: { code: codeOf(first) } }),
      422,
      'invalid_mfa_code',
    );
    ok(await confirmTotp({ client: member.client, body: { code: codeOf(second) } }));
  });

  it('needs a setup waiting, and a session rather than an API token', async () => {
    const member = await addMember(t, 'viewer', []);
    expectProblem(
      await confirmTotp({ client: member.client, body: { code: '123456' } }),
      422,
      'mfa_setup_required',
    );
    const token = ok(
      await createApiToken({ client: member.client, body: { name: 'script', scopes: ['tokens:read'] } }),
    ).token;
    expectProblem(await setupTotp({ client: t.client(token) }), 422, 'session_required');
  });

  it('keeps the secret sealed and the recovery codes hashed in the database', async () => {
    const member = await addMember(t, 'viewer', []);
    const setup = ok(await setupTotp({ client: member.client }));
    const totp = new TOTP({ secret: Secret.fromBase32(setup.secret) });
    const { recovery_codes } = ok(await confirmTotp({ client: member.client, body: { code: codeOf(totp) } }));
    const { db } = t.server.context;
    const stored = JSON.stringify([
      await db.selectFrom('mfa_totp').selectAll().where('user_id', '=', member.user.id).execute(),
      await db.selectFrom('mfa_recovery_codes').selectAll().where('user_id', '=', member.user.id).execute(),
    ]);
    expect(stored).toContain(member.user.id);
    expect(stored).not.toContain(setup.secret);
    for (const code of recovery_codes) {
      expect(stored).not.toContain(code);
      expect(stored).not.toContain(code.replaceAll('-', ''));
    }
  });
});

describe('signing in with MFA on', () => {
  it('answers mfa_required with a challenge, which a code exchanges for the session', async () => {
    const member = await enrolled();
    const token = await challenge(member);
    expect(token).toMatch(/^mmc_[A-Za-z0-9_-]{43}$/);
    const result = await verify({ challenge_token: token, code: await nextCode(member.totp) });
    const session = ok(result);
    expect(session.user).toMatchObject({ id: member.user.id, mfa_enabled: true });
    expect(cookiesOf(result.response).meridian_session).toBe(session.token);
    const me = ok(await getCurrentUser({ client: t.client(session.token) }));
    expect(me).toMatchObject({ auth_method: 'session', user: { id: member.user.id } });
  });

  it('gives the challenge five minutes', async () => {
    const member = await enrolled();
    const token = await challenge(member);
    await t.clock.advance(5 * 60 * 1000);
    expectProblem(
      await verify({ challenge_token: token, code: codeOf(member.totp) }),
      401,
      'mfa_challenge_invalid',
    );
  });

  it('accepts a code once: not again in its 30 seconds, not for another sign-in', async () => {
    const member = await enrolled();
    const code = await nextCode(member.totp);
    ok(await verify({ challenge_token: await challenge(member), code }));
    const second = await challenge(member);
    expectProblem(await verify({ challenge_token: second, code }), 401, 'invalid_mfa_code');
    ok(await verify({ challenge_token: second, code: await nextCode(member.totp) }));
  });

  it('lets two sign-ins racing with one new code have one session', async () => {
    const member = await enrolled();
    const [first, second] = [await challenge(member), await challenge(member)];
    const code = await nextCode(member.totp);
    const results = await Promise.all([
      verify({ challenge_token: first, code }),
      verify({ challenge_token: second, code }),
    ]);
    expect(results.map((result) => result.response.status).sort()).toEqual([200, 401]);
  });

  it('completes a challenge once', async () => {
    const member = await enrolled();
    const token = await challenge(member);
    ok(await verify({ challenge_token: token, code: await nextCode(member.totp) }));
    expectProblem(
      await verify({ challenge_token: token, code: await nextCode(member.totp) }),
      401,
      'mfa_challenge_invalid',
    );
    expectProblem(
      await verify({ challenge_token: `mmc_${'x'.repeat(43)}`, code: codeOf(member.totp) }),
      401,
      'mfa_challenge_invalid',
    );
  });

  it('ends the challenge after five wrong codes', async () => {
    const member = await enrolled();
    const token = await challenge(member);
    for (let attempt = 0; attempt < 5; attempt++)
      expectProblem(await verify({ challenge_token: token, code: '000000' }), 401, 'invalid_mfa_code');
    expectProblem(
      await verify({ challenge_token: token, code: await nextCode(member.totp) }),
      401,
      'mfa_challenge_invalid',
    );
  });

  it('takes each recovery code once, typed in any case, with or without hyphens', async () => {
    const member = await enrolled();
    const [first, second] = member.recoveryCodes as [string, string];
    ok(await verify({ challenge_token: await challenge(member), recovery_code: first }));
    expectProblem(
      await verify({ challenge_token: await challenge(member), recovery_code: first }),
      401,
      'invalid_mfa_code',
    );
    const typed = second.replaceAll('-', '').toUpperCase();
    ok(await verify({ challenge_token: await challenge(member), recovery_code: typed }));
  });

  it('is no session: the challenge token is refused as a bearer token', async () => {
    const member = await enrolled();
    const token = await challenge(member);
    expectProblem(await getCurrentUser({ client: t.client(token) }), 401, 'mfa_pending');
    // … and is still good for verify.
    ok(await verify({ challenge_token: token, code: await nextCode(member.totp) }));
  });
});

describe('turning MFA off and new recovery codes', () => {
  it('turns MFA off with the password or a code, never with a wrong one', async () => {
    const member = await enrolled();
    expectProblem(
      await disableTotp({ client: member.client, body: { password: 'not-the-password' } }),
      422,
      'invalid_current_password',
    );
    expectProblem(
      await disableTotp({ client: member.client, body: { code: '000000' } }),
      422,
      'invalid_mfa_code',
    );
    const disabled = await disableTotp({
      client: member.client,
      body: { code: await nextCode(member.totp) },
    });
    expect(disabled.response.status).toBe(204);
    expect(ok(await getCurrentUser({ client: member.client })).user.mfa_enabled).toBe(false);
    const session = ok(
      await login({
        client: t.client(),
        body: { username: member.user.username, password: member.password },
      }),
    );
    expect(session.user.mfa_enabled).toBe(false);
    expectProblem(
      await disableTotp({ client: member.client, body: { password: member.password } }),
      409,
      'mfa_not_enabled',
    );
    expectProblem(
      await regenerateRecoveryCodes({ client: member.client, body: { password: member.password } }),
      409,
      'mfa_not_enabled',
    );
  });

  it('replaces the recovery codes: the new ones work, the old ones no longer', async () => {
    const member = await enrolled();
    expectProblem(
      await regenerateRecoveryCodes({ client: member.client, body: { password: 'not-the-password' } }),
      422,
      'invalid_current_password',
    );
    const { recovery_codes } = ok(
      await regenerateRecoveryCodes({ client: member.client, body: { password: member.password } }),
    );
    expect(recovery_codes).toHaveLength(10);
    expect(recovery_codes.filter((code) => member.recoveryCodes.includes(code))).toEqual([]);
    expectProblem(
      await verify({ challenge_token: await challenge(member), recovery_code: member.recoveryCodes[0]! }),
      401,
      'invalid_mfa_code',
    );
    ok(await verify({ challenge_token: await challenge(member), recovery_code: recovery_codes[0]! }));
  });
});

describe("an admin's reset", () => {
  it('turns MFA off for a user who lost their authenticator, ending their pending challenges', async () => {
    const member = await enrolled();
    const pending = await challenge(member);
    const user = ok(await resetUserMfa({ client: t.admin, path: { user_id: member.user.id } }));
    expect(user).toMatchObject({ id: member.user.id, mfa_enabled: false });
    expectProblem(
      await verify({ challenge_token: pending, code: await nextCode(member.totp) }),
      401,
      'mfa_challenge_invalid',
    );
    ok(
      await login({
        client: t.client(),
        body: { username: member.user.username, password: member.password },
      }),
    );
    // They can set MFA up afresh.
    ok(await setupTotp({ client: member.client }));
  });

  it('is 404 for a user that does not exist', async () => {
    expectProblem(
      await resetUserMfa({ client: t.admin, path: { user_id: 'usr_01JBZ3V4K7M2Q8R5T6W9X0Y1AB' } }),
      404,
      'not_found',
    );
  });
});

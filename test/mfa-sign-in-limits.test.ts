/**
 * The limits on sign-ins of a user with MFA on (issue 12 §1, §3): a right password answered
 * `mfa_required` is not a failed sign-in for the login rate limit (it gives its points back as a
 * success does), and a wrong second factor is one for the account's lockout; a right password
 * does not forget those failures, only a completed sign-in does, so someone who knows the
 * password cannot try codes forever by asking for new challenges.
 */
import { Secret, TOTP } from 'otpauth';
import { describe, expect, it } from 'vitest';
import { confirmTotp, getUser, login, type MfaRequiredProblem, setupTotp, verifyMfa } from '@meridian/sdk';
import { expectProblem } from './support/problem';
import { ok, type TestServer } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addMember } from './support/world';

/** A member with MFA on: their credentials, TOTP, and a way to get a challenge with the password. */
async function mfaMember(t: TestServer) {
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
  const challenge = async () =>
    (
      expectProblem(
        await login({ client: t.client(), body: credentials }),
        401,
        'mfa_required',
      ) as MfaRequiredProblem
    ).mfa_challenge!.token;
  return { ...member, totp, credentials, challenge };
}

describe('the login rate limit and mfa_required', () => {
  const t = useTestServer({ loginFailuresPerMinute: 2 });

  it('does not count a right password answered mfa_required as a failed sign-in', async () => {
    const member = await mfaMember(t);
    for (let i = 0; i < 5; i++) await member.challenge();
    // The budget (2 failures a minute, per address and per username) is still whole.
    const wrong = { ...member.credentials, password: 'wrong-password' };
    expectProblem(await login({ client: t.client(), body: wrong }), 401, 'invalid_credentials');
    expectProblem(await login({ client: t.client(), body: wrong }), 401, 'invalid_credentials');
    expect((await login({ client: t.client(), body: wrong })).response.status).toBe(429);
  });
});

describe('the lockout and wrong second factors', () => {
  const t = useTestServer({ lockout: { threshold: 3, windowMinutes: 10, lockMinutes: 15 } });

  it('counts wrong codes across challenges, which a right password does not forget, and locks', async () => {
    const member = await mfaMember(t);
    for (let i = 0; i < 3; i++)
      expectProblem(
        await verifyMfa({
          client: t.client(),
          body: { challenge_token: await member.challenge(), code: '000000' },
        }),
        401,
        'invalid_mfa_code',
      );
    expectProblem(await login({ client: t.client(), body: member.credentials }), 401, 'account_locked');
    expect(
      ok(await getUser({ client: t.admin, path: { user_id: member.user.id } })).locked_until,
    ).not.toBeNull();
  });

  it('forgets the failures once a sign-in completes with its second factor', async () => {
    const member = await mfaMember(t);
    const code = () => member.totp.generate({ timestamp: t.clock.now().getTime() });
    for (let i = 0; i < 2; i++)
      expectProblem(
        await verifyMfa({
          client: t.client(),
          body: { challenge_token: await member.challenge(), code: '000000' },
        }),
        401,
        'invalid_mfa_code',
      );
    await t.clock.advance(60_000);
    ok(
      await verifyMfa({
        client: t.client(),
        body: { challenge_token: await member.challenge(), code: code() },
      }),
    );
    // Two more wrong codes would have locked it, had the first two still counted.
    for (let i = 0; i < 2; i++)
      expectProblem(
        await verifyMfa({
          client: t.client(),
          body: { challenge_token: await member.challenge(), code: '000000' },
        }),
        401,
        'invalid_mfa_code',
      );
    await t.clock.advance(60_000);
    ok(
      await verifyMfa({
        client: t.client(),
        body: { challenge_token: await member.challenge(), code: code() },
      }),
    );
  });
});

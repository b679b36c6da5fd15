/**
 * Password recovery: an admin makes a one-time, expiring reset token (stored as a hash); with it
 * the user sets a new password without signing in, which ends their sessions and any lockout.
 */
import { describe, expect, it } from 'vitest';
import {
  createPasswordResetToken,
  getCurrentUser,
  getUser,
  login,
  resetPasswordWithToken,
} from '@meridian/sdk';
import { expectProblem } from './support/problem';
import { ok } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addMember } from './support/world';

const MINUTE = 60_000;
const t = useTestServer({ lockout: { threshold: 2 } });
const NEW_PASSWORD = 'plaid-umbrella-orbit-lantern';

const signIn = (username: string, password: string) =>
  login({ client: t.client(), body: { username, password } });
const reset = (token: string, new_password = NEW_PASSWORD) =>
  resetPasswordWithToken({ client: t.client(), body: { token, new_password } });

describe('password reset tokens', () => {
  it('set a new password once, ending sessions and the lockout', async () => {
    const member = await addMember(t, 'operator', []);
    for (let i = 0; i < 2; i++) await signIn(member.user.username, 'wrong-password');
    expectProblem(await signIn(member.user.username, member.password), 401, 'account_locked');

    const created = ok(
      await createPasswordResetToken({ client: t.admin, path: { user_id: member.user.id }, body: {} }),
    );
    expect(created.token).toMatch(/^mpr_/);
    expect(created.user_id).toBe(member.user.id);
    expect(Date.parse(created.expires_at) - Date.parse(created.created_at)).toBe(60 * MINUTE);
    const stored = await t.server.context.db.selectFrom('password_reset_tokens').selectAll().execute();
    expect(JSON.stringify(stored)).not.toContain(created.token);

    expect((await reset(created.token)).response.status).toBe(204);
    expectProblem(await getCurrentUser({ client: member.client }), 401, 'session_expired');
    expectProblem(await signIn(member.user.username, member.password), 401, 'invalid_credentials');
    ok(await signIn(member.user.username, NEW_PASSWORD));
    expect(ok(await getUser({ client: t.admin, path: { user_id: member.user.id } })).locked_until).toBeNull();

    // Once only.
    expectProblem(await reset(created.token, 'yet-another-long-password'), 422, 'invalid_reset_token');
    ok(await signIn(member.user.username, NEW_PASSWORD));
  });

  it('expire, and an unknown token is refused the same way, changing nothing', async () => {
    const member = await addMember(t, 'viewer', []);
    const created = ok(
      await createPasswordResetToken({
        client: t.admin,
        path: { user_id: member.user.id },
        body: { expires_in_minutes: 5 },
      }),
    );
    expectProblem(await reset('mpr_never-issued'), 422, 'invalid_reset_token');
    await t.clock.advance(5 * MINUTE + 1000);
    expectProblem(await reset(created.token), 422, 'invalid_reset_token');
    ok(await signIn(member.user.username, member.password));
    await t.travel(0);
  });

  it('are made for users that exist (404 otherwise)', async () => {
    expectProblem(
      await createPasswordResetToken({
        client: t.admin,
        path: { user_id: 'usr_01JBZ3V4K7M2Q8R5T6W9X0Y1AB' },
        body: {},
      }),
      404,
      'not_found',
    );
  });
});

/**
 * Sessions: each remembers where it signed in from and when it was last used; you list yours and
 * end one or all others; an admin ends all of a user's; they end after the idle timeout (unless
 * `remember_me`) and after their absolute lifetime, and a revoked one stops at once, though
 * verified sessions are cached for a few seconds.
 */
import { describe, expect, it } from 'vitest';
import {
  createApiToken,
  getCurrentUser,
  listSessions,
  login,
  revokeOtherSessions,
  revokeSession,
  revokeUserSessions,
} from '@meridian/sdk';
import { readConfig, serverOptions } from '../server-stub/src/config';
import { expectProblem } from './support/problem';
import { ok } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addMember, unique } from './support/world';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const t = useTestServer({ sessions: { idleMinutes: 30, lifetimeHours: 8, rememberDays: 14 } });

async function signIn(username: string, password: string, userAgent: string, rememberMe?: boolean) {
  const result = await login({
    client: t.client(undefined, { 'User-Agent': userAgent }),
    body: { username, password, ...(rememberMe === undefined ? {} : { remember_me: rememberMe }) },
  });
  return ok(result);
}

const me = (token: string) => getCurrentUser({ client: t.client(token) });

describe('your sessions', () => {
  it('lists them with when, where from and which is current; remember_me lasts days', async () => {
    const member = await addMember(t, 'viewer', []);
    const started = t.clock.now().getTime();
    const laptop = await signIn(member.user.username, member.password, 'Laptop/1.0', true);
    const phone = await signIn(member.user.username, member.password, 'Phone/2.0');
    expect(Date.parse(laptop.expires_at) - started).toBeGreaterThanOrEqual(14 * 24 * HOUR);
    expect(Date.parse(phone.expires_at) - started).toBeLessThanOrEqual(8 * HOUR + MINUTE);
    ok(await me(laptop.token));

    const listed = ok(await listSessions({ client: t.client(phone.token), query: { limit: 50 } })).data;
    const byAgent = Object.fromEntries(listed.map((session) => [session.user_agent, session]));
    expect(listed).toHaveLength(3); // and addMember's own
    expect(Object.keys(byAgent)).toEqual(expect.arrayContaining(['Laptop/1.0', 'Phone/2.0']));
    expect(byAgent['Phone/2.0']).toMatchObject({
      current: true,
      remember_me: false,
      ip_address: '127.0.0.1',
    });
    expect(byAgent['Laptop/1.0']).toMatchObject({ current: false, remember_me: true });
    expect(byAgent['Laptop/1.0']!.last_used_at).not.toBeNull();
    expect(byAgent['Laptop/1.0']!.expires_at).toBe(laptop.expires_at);

    // With an API token, none of them is current.
    const token = ok(
      await createApiToken({
        client: t.client(phone.token),
        body: { name: unique('t'), scopes: ['tokens:read'] },
      }),
    ).token;
    const viaToken = ok(await listSessions({ client: t.client(token) })).data;
    expect(viaToken).toHaveLength(listed.length);
    expect(viaToken.every((session) => !session.current)).toBe(true);
  });

  it('ends one of yours at once, even while it is cached; not someone else’s (404)', async () => {
    const member = await addMember(t, 'viewer', []);
    const other = await addMember(t, 'viewer', []);
    const spare = await signIn(member.user.username, member.password, 'Spare/1');
    ok(await me(spare.token)); // verified and cached
    const id = ok(await listSessions({ client: member.client })).data.find(
      (s) => s.user_agent === 'Spare/1',
    )!.id;

    expectProblem(await revokeSession({ client: other.client, path: { session_id: id } }), 404, 'not_found');
    ok(await me(spare.token));
    const revoked = await revokeSession({ client: member.client, path: { session_id: id } });
    expect(revoked.response.status).toBe(204);
    expectProblem(await me(spare.token), 401, 'session_expired');
    expectProblem(await revokeSession({ client: member.client, path: { session_id: id } }), 404, 'not_found');
  });

  it('ends every other session but keeps this one; an API token cannot (422)', async () => {
    const member = await addMember(t, 'viewer', []);
    const a = await signIn(member.user.username, member.password, 'A/1');
    const b = await signIn(member.user.username, member.password, 'B/1');
    ok(await me(a.token));
    const ended = ok(await revokeOtherSessions({ client: t.client(b.token) }));
    expect(ended.revoked).toBe(2); // addMember's session and A
    expectProblem(await me(a.token), 401, 'session_expired');
    expectProblem(await me(member.session), 401, 'session_expired');
    ok(await me(b.token));

    const token = ok(
      await createApiToken({
        client: t.client(b.token),
        body: { name: unique('t'), scopes: ['tokens:read'] },
      }),
    ).token;
    expectProblem(await revokeOtherSessions({ client: t.client(token) }), 422, 'session_required');
    ok(await me(b.token));
  });

  it("lets an admin end all of a user's sessions; an unknown user is 404", async () => {
    const member = await addMember(t, 'operator', []);
    const second = await signIn(member.user.username, member.password, 'Second/1');
    ok(await me(second.token));
    const ended = ok(await revokeUserSessions({ client: t.admin, path: { user_id: member.user.id } }));
    expect(ended.revoked).toBe(2);
    expectProblem(await me(member.session), 401, 'session_expired');
    expectProblem(await me(second.token), 401, 'session_expired');
    expectProblem(
      await revokeUserSessions({ client: t.admin, path: { user_id: 'usr_01JBZ3V4K7M2Q8R5T6W9X0Y1AB' } }),
      404,
      'not_found',
    );
  });
});

describe('session lifetimes', () => {
  it('ends a session unused for the idle timeout; use keeps it alive; remember_me has none', async () => {
    const member = await addMember(t, 'viewer', []);
    const idle = await signIn(member.user.username, member.password, 'Idle/1');
    const busy = await signIn(member.user.username, member.password, 'Busy/1');
    const remembered = await signIn(member.user.username, member.password, 'Kept/1', true);
    for (let i = 0; i < 4; i++) {
      await t.clock.advance(10 * MINUTE);
      ok(await me(busy.token));
    }
    expectProblem(await me(idle.token), 401, 'session_expired');
    ok(await me(busy.token));
    ok(await me(remembered.token));
    const agents = ok(await listSessions({ client: t.client(busy.token) })).data.map((s) => s.user_agent);
    expect(agents.sort()).toEqual(['Busy/1', 'Kept/1']);
  });

  it('ends a session at its absolute lifetime however busy it is', async () => {
    await t.travel(0); // the admin's session went idle in the test above
    const member = await addMember(t, 'viewer', []);
    const session = await signIn(member.user.username, member.password, 'Busy/2');
    for (let i = 0; i < 31; i++) {
      await t.clock.advance(15 * MINUTE);
      ok(await me(session.token));
    }
    await t.clock.advance(16 * MINUTE); // 8 h 1 min after sign-in
    expectProblem(await me(session.token), 401, 'session_expired');
  });
});

describe('settings', () => {
  it('reads the session and lockout settings from the environment, leaving the others at their defaults', () => {
    const options = serverOptions(
      readConfig({
        MERIDIAN_DB: ':memory:',
        MERIDIAN_SESSION_IDLE_MINUTES: '5',
        MERIDIAN_LOCKOUT_THRESHOLD: '3',
      }),
    );
    expect(options.sessions).toEqual({ idleMinutes: 5 });
    expect(options.lockout).toEqual({ threshold: 3 });
    const wrong = () => readConfig({ MERIDIAN_SESSION_REMEMBER_DAYS: '0', MERIDIAN_LOCKOUT_MINUTES: 'soon' });
    expect(wrong).toThrow('MERIDIAN_SESSION_REMEMBER_DAYS must be a whole number of days from 1 to 365');
    expect(wrong).toThrow('MERIDIAN_LOCKOUT_MINUTES must be a whole number of minutes from 1 to 10080');
  });
});

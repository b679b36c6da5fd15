/**
 * Lockout: MERIDIAN_LOCKOUT_THRESHOLD failed sign-ins of a username within the window lock it for
 * MERIDIAN_LOCKOUT_MINUTES (even the right password is refused), or until an admin unlocks it.
 * Usernames that exist and usernames that do not get the same answers, and take the same time.
 */
import { describe, expect, it } from 'vitest';
import { getUser, login, unlockUser } from '@meridian/sdk';
import { expectProblem } from './support/problem';
import { ok, startTestServer } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addMember, unique } from './support/world';

const MINUTE = 60_000;
const t = useTestServer({ lockout: { threshold: 3, windowMinutes: 10, lockMinutes: 15 } });

const attempt = (username: string, password: string) =>
  login({ client: t.client(), body: { username, password } });

/**
 * Everything an answer shows, but what differs by request: its ID, the time, and what is left
 * of this address's rate-limit budgets (one request more each time).
 */
async function answer(result: { error?: unknown; response: Response }) {
  const { request_id: _id, ...problem } = result.error as Record<string, unknown>;
  const varying = ['request-id', 'date', 'content-length', 'ratelimit-remaining', 'ratelimit-reset'];
  const headers = [...result.response.headers].filter(([name]) => !varying.includes(name)).sort();
  return { status: result.response.status, problem, headers };
}

describe('lockout', () => {
  it('locks a username after the threshold, refusing even its password, until the lock ends', async () => {
    const member = await addMember(t, 'viewer', []);
    const { username } = member.user;
    const before = t.clock.now().getTime();
    for (let i = 0; i < 3; i++)
      expectProblem(await attempt(username, 'wrong-password'), 401, 'invalid_credentials');
    const after = t.clock.now().getTime();
    expectProblem(await attempt(username, member.password), 401, 'account_locked');
    const locked = ok(await getUser({ client: t.admin, path: { user_id: member.user.id } }));
    expect(Date.parse(locked.locked_until!)).toBeGreaterThanOrEqual(before + 15 * MINUTE);
    expect(Date.parse(locked.locked_until!)).toBeLessThanOrEqual(after + 15 * MINUTE);

    await t.clock.advance(14 * MINUTE);
    expectProblem(await attempt(username, member.password), 401, 'account_locked');
    await t.clock.advance(MINUTE);
    ok(await attempt(username, member.password));
    await t.travel(0);
    // A successful sign-in forgets the failures and the lock.
    expect(ok(await getUser({ client: t.admin, path: { user_id: member.user.id } })).locked_until).toBeNull();
  });

  it('counts failures within the window only', async () => {
    const member = await addMember(t, 'viewer', []);
    for (let i = 0; i < 2; i++) await attempt(member.user.username, 'wrong-password');
    await t.clock.advance(11 * MINUTE);
    await t.travel(0);
    for (let i = 0; i < 2; i++) await attempt(member.user.username, 'wrong-password');
    ok(await attempt(member.user.username, member.password));
  });

  it('is ended early by an admin (unlockUser); an unknown user is 404', async () => {
    const member = await addMember(t, 'viewer', []);
    for (let i = 0; i < 3; i++) await attempt(member.user.username.toUpperCase(), 'wrong-password');
    expectProblem(await attempt(member.user.username, member.password), 401, 'account_locked');
    const unlocked = ok(await unlockUser({ client: t.admin, path: { user_id: member.user.id } }));
    expect(unlocked).toMatchObject({ id: member.user.id, locked_until: null });
    ok(await attempt(member.user.username, member.password));
    // Unlocking an account that is not locked changes nothing.
    ok(await unlockUser({ client: t.admin, path: { user_id: member.user.id } }));
    expectProblem(
      await unlockUser({ client: t.admin, path: { user_id: 'usr_01JBZ3V4K7M2Q8R5T6W9X0Y1AB' } }),
      404,
      'not_found',
    );
  });

  it('answers a username that does not exist exactly as one that does, before and after the lock', async () => {
    const member = await addMember(t, 'viewer', []);
    const unknown = unique('nobody');
    for (let i = 0; i < 4; i++) {
      const known = await answer(await attempt(member.user.username, 'wrong-password'));
      const made_up = await answer(await attempt(unknown, 'wrong-password'));
      expect(made_up).toEqual(known);
      expect(known.problem.code).toBe(i < 3 ? 'invalid_credentials' : 'account_locked');
    }
  });
});

describe('sign-in timing', () => {
  it('takes as long for a username that does not exist as for one that does', async () => {
    // A realistic password cost, so that skipping the password check would show (it is most of
    // the work); the lockout and the rate limit out of the way of this many failures.
    const server = await startTestServer({ passwordCost: 2 ** 12, lockout: { threshold: 100_000 } });
    try {
      const member = await addMember(server, 'viewer', []);
      const time = async (username: string) => {
        const started = performance.now();
        const result = await login({
          client: server.client(),
          body: { username, password: 'wrong-password' },
        });
        expect(result.response.status).toBe(401);
        return performance.now() - started;
      };
      await time(member.user.username); // warm-up
      // Pairs alternate their order and each pair's ratio is taken, so the machine's load
      // (other tests on the same two cores) drifting over the run weighs on both sides alike;
      // the median ignores the pairs a pause hit.
      const ratios: number[] = [];
      for (let i = 0; i < 40; i++) {
        const unknown = unique('nobody');
        if (i % 2 === 0) {
          const known = await time(member.user.username);
          ratios.push((await time(unknown)) / known);
        } else {
          const made_up = await time(unknown);
          ratios.push(made_up / (await time(member.user.username)));
        }
      }
      ratios.sort((a, b) => a - b);
      const median = (ratios[19]! + ratios[20]!) / 2;
      expect(median).toBeGreaterThan(0.75);
      expect(median).toBeLessThan(1 / 0.75);
    } finally {
      await server.close();
    }
  });
});

/**
 * Rate limits with two instances on one PostgreSQL database: the API budget and the failed
 * sign-in limit are counted in the database (migration 024), so a client that spreads its
 * requests or guesses over both instances gets no more than from one. (Each test claims its own
 * address through X-Forwarded-For, believed from loopback, so budgets do not mix.)
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { getHealth, getVersion, login } from '@meridian/sdk';
import { usePostgresInstances } from './support/postgres';
import { expectLimited } from './support/rate-limit';
import type { TestServer } from './support/server';
import { unique } from './support/world';

// Apart, so that failed sign-ins from one address meet their own limit before the API budget.
const REQUESTS = 8;
const FAILURES = 3;
const [t, second] = usePostgresInstances({
  requestsPerMinute: REQUESTS,
  loginFailuresPerMinute: FAILURES,
  trustProxy: 'loopback',
});
/** The instance the i-th request goes to: each in turn, as a round-robin load balancer would. */
const instance = (i: number): TestServer => (i % 2 === 0 ? t : second);

describe('two instances on one PostgreSQL database', () => {
  it('spend one API budget per caller between them', async () => {
    const from = (i: number) => instance(i).client(undefined, { 'X-Forwarded-For': '192.0.2.10' });
    for (let i = 0; i < REQUESTS; i++) {
      const result = await getHealth({ client: from(i) });
      expect(result.response.status).toBe(200);
      expect(result.response.headers.get('ratelimit-remaining')).toBe(String(REQUESTS - 1 - i));
    }
    expectLimited(await getHealth({ client: from(REQUESTS) }), REQUESTS);
    expectLimited(await getHealth({ client: from(REQUESTS + 1) }), REQUESTS);
  });

  it("spend a signed-in user's budget between them, whichever address it comes from", async () => {
    const as = (i: number) => instance(i).client(t.adminToken, { 'X-Forwarded-For': `192.0.2.${20 + i}` });
    // Whatever the admin spent before (its other session is second.admin's) counts: count from here.
    const first = await getVersion({ client: as(0) });
    const remaining = Number(first.response.headers.get('ratelimit-remaining'));
    for (let i = 1; i <= remaining; i++)
      expect((await getVersion({ client: as(i) })).response.status).toBe(200);
    expectLimited(await getVersion({ client: as(remaining + 1) }), REQUESTS);
    expectLimited(await getVersion({ client: as(remaining + 2) }), REQUESTS);
  });

  const failFrom = (i: number, address: string, username: string) =>
    login({
      client: instance(i).client(undefined, { 'X-Forwarded-For': address }),
      body: { username, password: 'not-the-password' },
    });

  it('count failed sign-ins per username together', async () => {
    const username = unique('target');
    for (let i = 0; i < FAILURES; i++)
      expect((await failFrom(i, `198.51.100.${i + 1}`, username)).response.status).toBe(401);
    expectLimited(await failFrom(FAILURES, '198.51.100.100', username), FAILURES);
    expectLimited(await failFrom(FAILURES + 1, '198.51.100.101', username), FAILURES);
  });

  it('count failed sign-ins per address together', async () => {
    for (let i = 0; i < FAILURES; i++)
      expect((await failFrom(i, '203.0.113.50', unique('guess'))).response.status).toBe(401);
    expectLimited(await failFrom(FAILURES, '203.0.113.50', unique('guess')), FAILURES);
    expectLimited(await failFrom(FAILURES + 1, '203.0.113.50', unique('guess')), FAILURES);
  });

  it('delete the counters of windows that ended, every 5 minutes', async () => {
    const { db } = t.server.context;
    await sql`insert into rate_limits (key, points, expire) values ('api:ended', 3, ${Date.now() - 1000})`.execute(
      db,
    );
    await getHealth({ client: t.client(undefined, { 'X-Forwarded-For': '192.0.2.99' }) });
    const keys = async () =>
      (await sql<{ key: string }>`select key from rate_limits`.execute(db)).rows.map((row) => row.key);
    expect(await keys()).toEqual(expect.arrayContaining(['api:ended', 'api:address:192.0.2.99']));
    await t.clock.advance(5 * 60_000);
    expect(await keys()).not.toContain('api:ended');
    expect(await keys()).toContain('api:address:192.0.2.99');
  });
});

/**
 * Whose budget a request spends: an authenticated request its principal's (a user's sessions
 * together, an API token, a device), an anonymous request or one whose credentials fail its
 * client address's. Failed sign-ins are limited per address and per username. The address is
 * the connection's, or X-Forwarded-For's when the connection comes from a trusted proxy
 * (MERIDIAN_TRUST_PROXY; loopback by default).
 */
import { networkInterfaces } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { getHealth, getVersion, login, type Client } from '@meridian/sdk';
import { expectLimited } from './support/rate-limit';
import { ok } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addMember, type Member, unique } from './support/world';

const BUDGET = 10;

describe('the API budget', () => {
  const t = useTestServer({ requestsPerMinute: BUDGET });
  let alice: Member;
  let aliceAgain: Client;
  let bob: Member;
  beforeAll(async () => {
    alice = await addMember(t, 'viewer', []);
    aliceAgain = t.client(await t.signIn(alice.user.username, alice.password));
    bob = await addMember(t, 'viewer', []);
  });

  /** Calls until the budget `call` counts against is spent (at most BUDGET + 1 calls): the 429. */
  async function spend(call: () => Promise<{ response: Response; error?: unknown }>) {
    let result = await call();
    for (let i = 0; i < BUDGET && result.response.status !== 429; i++) result = await call();
    return result;
  }

  it('limits a client that sends a different made-up token each time, by its address', async () => {
    expectLimited(await spend(() => getVersion({ client: t.client(`mtk_${crypto.randomUUID()}`) })), BUDGET);
    // Anonymous requests from the address share that budget.
    expectLimited(await getHealth({ client: t.client() }), BUDGET);
  });

  it("keeps each user's budget apart from the address's and from other users'", async () => {
    // The address's budget is spent (by the made-up tokens above), yet users with valid
    // credentials from the same address, like a busy office behind one NAT, are served.
    expect((await getHealth({ client: t.client() })).response.status).toBe(429);
    ok(await getVersion({ client: alice.client }));
    expectLimited(await spend(() => getVersion({ client: alice.client })), BUDGET);
    // Another session of the same user spends the same budget; another user has their own.
    expectLimited(await getVersion({ client: aliceAgain }), BUDGET);
    ok(await getVersion({ client: bob.client }));
  });
});

describe('failed sign-ins', () => {
  const t = useTestServer({
    requestsPerMinute: 100_000,
    loginFailuresPerMinute: BUDGET,
    trustProxy: 'loopback',
  });
  const failFrom = (address: string, username: string) =>
    login({
      client: t.client(undefined, { 'X-Forwarded-For': address }),
      body: { username, password: 'not-the-password' },
    });

  it('are limited per username, whatever addresses they come from', async () => {
    const username = unique('target');
    for (let i = 0; i < BUDGET; i++)
      expect((await failFrom(`203.0.113.${i + 1}`, username)).response.status).toBe(401);
    expectLimited(await failFrom('203.0.113.200', username), BUDGET);
    // Case does not make another username.
    expect((await failFrom('203.0.113.201', username.toUpperCase())).response.status).toBe(429);
    // Another username from a fresh address is not affected.
    expect((await failFrom('203.0.113.202', unique('other'))).response.status).toBe(401);
  });

  it('are limited per address, whatever usernames they try', async () => {
    for (let i = 0; i < BUDGET; i++)
      expect((await failFrom('198.51.100.7', unique('guess'))).response.status).toBe(401);
    expectLimited(await failFrom('198.51.100.7', unique('guess')), BUDGET);
    expect((await failFrom('198.51.100.8', unique('guess'))).response.status).toBe(401);
  });
});

/**
 * X-Forwarded-For only counts from a trusted proxy. These tests connect over a non-loopback
 * interface of this machine, since loopback is trusted by default.
 */
const outsideAddress = Object.values(networkInterfaces())
  .flat()
  .find((net) => net && net.family === 'IPv4' && !net.internal)?.address;

describe.each([
  ['unset', undefined],
  ['set to the connecting address', outsideAddress],
] as const)('with MERIDIAN_TRUST_PROXY %s', (setting, trustProxy) => {
  if (!outsideAddress) throw new Error('these tests need a non-loopback IPv4 interface on this machine');
  const t = useTestServer({
    host: outsideAddress,
    loginFailuresPerMinute: BUDGET,
    ...(trustProxy ? { trustProxy } : {}),
  });

  it(`${setting === 'unset' ? 'ignores' : 'believes'} X-Forwarded-For`, async () => {
    const statuses: number[] = [];
    for (let i = 0; i <= BUDGET; i++) {
      const result = await login({
        client: t.client(undefined, { 'X-Forwarded-For': `203.0.113.${i + 1}` }),
        body: { username: unique('guess'), password: 'not-the-password' },
      });
      statuses.push(result.response.status);
    }
    // Each claimed address would have its own budget; the connection's address has one.
    expect(statuses.at(-1)).toBe(trustProxy ? 401 : 429);
  });
});

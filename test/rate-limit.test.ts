/**
 * The API-wide rate limit: each credential has a budget per minute, announced in RateLimit-*
 * headers; past it, every operation answers 429 problem+json with Retry-After, and other
 * credentials are unaffected. (Failed logins have their own limit: see auth.test.ts.)
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { getHealth, getVersion } from '@meridian/sdk';
import { callOperation, validCalls } from './support/operations';
import { expectProblem } from './support/problem';
import { useTestServer } from './support/use-test-server';
import { snapshot } from './support/snapshot';
import { specOperations } from './support/spec';

/** More than the admin spends building the world in the same minute (44 requests now), so that it can. */
const BUDGET = 100;
const t = useTestServer({ world: true, requestsPerMinute: BUDGET });
let exhausted: string;
beforeAll(async () => {
  exhausted = await t.signIn(t.world.operator.user.username, t.world.operator.password);
});

describe('the API rate limit', () => {
  it('announces the budget, then answers 429 with Retry-After once it is spent', async () => {
    const client = t.client(exhausted);
    const first = await getVersion({ client });
    expect(first.response.status).toBe(200);
    expect(Number(first.response.headers.get('ratelimit-limit'))).toBe(BUDGET);
    expect(Number(first.response.headers.get('ratelimit-remaining'))).toBe(BUDGET - 1);
    for (let i = 1; i < BUDGET; i++) expect((await getVersion({ client })).response.status).toBe(200);
    const limited = await getVersion({ client });
    expectProblem(limited, 429, 'rate_limited');
    const retryAfter = Number(limited.response.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect((await getVersion({ client: t.admin })).response.status).toBe(200);
  });

  it('spends the anonymous budget of this IP the same way', async () => {
    let status = 0;
    for (let i = 0; i <= BUDGET && status !== 429; i++)
      status = (await getHealth({ client: t.client() })).response.status;
    expect(status).toBe(429);
  });

  it.each(specOperations.map((op) => [op.operationId] as const))(
    'refuses %s with 429 and writes nothing once the budget is spent',
    async (operationId) => {
      // Public operations carry no credentials, so they count against the caller's IP instead.
      const client = specOperations.find((op) => op.operationId === operationId)!.public
        ? t.client()
        : t.client(exhausted);
      const before = await snapshot(t);
      const result = await callOperation(operationId, client, validCalls[operationId]!(t.world));
      expect(result.response.status).toBe(429);
      expect(result.response.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await snapshot(t)).toBe(before);
    },
  );
});

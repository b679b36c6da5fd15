/**
 * Verified credentials are cached for a few seconds (server-stub/src/runtime/credential-cache.ts):
 * on the instance where a session ends, a token is revoked or a user changes, the next request sees
 * it at once, though the credential was verified a moment before; another instance on the same
 * database believes what it verified for at most CREDENTIAL_CACHE_TTL_MS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  changePassword,
  getCurrentUser,
  getSite,
  logout,
  revokeApiToken,
  revokeDeviceCredentials,
  sendAgentHeartbeat,
  updateUser,
} from '@meridian/sdk';
import { CREDENTIAL_CACHE_TTL_MS } from '../server-stub/src/runtime/credential-cache';
import { addAgent } from './support/agents';
import { expectProblem } from './support/problem';
import { ok, startTestServer, type TestServer } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addMember, addSite, apiToken } from './support/world';

const t = useTestServer();

const me = (client: ReturnType<TestServer['client']>) => getCurrentUser({ client });

describe('on the instance that makes the change', () => {
  it('a revoked API token is refused at once', async () => {
    const member = await addMember(t, 'operator', []);
    const token = await apiToken(member.client, ['devices:read']);
    const { api_token_id: tokenId } = ok(await me(t.client(token)));
    ok(await revokeApiToken({ client: member.client, path: { token_id: tokenId! } }));
    expectProblem(await me(t.client(token)), 401, 'token_revoked');
  });

  it('a session signed out is refused at once', async () => {
    const member = await addMember(t, 'viewer', []);
    ok(await me(member.client));
    ok(await logout({ client: member.client }));
    expectProblem(await me(member.client), 401, 'session_expired');
  });

  it("a disabled user's API token is refused at once", async () => {
    const member = await addMember(t, 'operator', []);
    const token = await apiToken(member.client, ['devices:read']);
    ok(await me(t.client(token)));
    ok(await updateUser({ client: t.admin, path: { user_id: member.user.id }, body: { disabled: true } }));
    expectProblem(await me(t.client(token)), 401, 'user_disabled');
  });

  it('a changed role or site list applies to the next request', async () => {
    const site = await addSite(t);
    const member = await addMember(t, 'operator', [site.id]);
    const token = await apiToken(member.client, ['devices:read', 'devices:write']);
    expect(ok(await me(t.client(token))).scopes).toContain('devices:write');
    ok(await getSite({ client: member.client, path: { site_id: site.id } }));
    ok(await updateUser({ client: t.admin, path: { user_id: member.user.id }, body: { role: 'viewer' } }));
    expect(ok(await me(t.client(token))).scopes).not.toContain('devices:write');
    ok(await updateUser({ client: t.admin, path: { user_id: member.user.id }, body: { site_ids: [] } }));
    expect((await getSite({ client: member.client, path: { site_id: site.id } })).response.status).toBe(404);
  });

  it('a changed password is the one checked next, even right after', async () => {
    const member = await addMember(t, 'viewer', []);
    const passwords = [member.password, 'a-second-long-password', 'a-third-long-password'];
    for (const [current, next] of [passwords.slice(0, 2), passwords.slice(1)] as [string, string][])
      ok(
        await changePassword({
          client: member.client,
          body: { current_password: current, new_password: next },
        }),
      );
  });
});

describe('across instances on one database', () => {
  const directory = mkdtempSync(join(tmpdir(), 'meridian-credential-cache-'));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('another instance believes a verified credential for at most CREDENTIAL_CACHE_TTL_MS', async () => {
    const database = join(directory, 'meridian.sqlite');
    const a = await startTestServer({ database });
    const b = await startTestServer({ database, now: a.clock.now, timers: a.clock.timers });
    try {
      const member = await addMember(a, 'operator', []);
      const token = await apiToken(member.client, ['devices:read']);
      const agent = await addAgent(a, (await addSite(a)).id);
      const beat = () =>
        sendAgentHeartbeat({
          client: agent.client,
          body: { status: 'ok', agent_version: '1.2.0', uptime_seconds: 1 },
        });
      const { api_token_id: tokenId } = ok(await me(a.client(token)));
      ok(await beat());
      ok(await revokeApiToken({ client: b.client(member.session), path: { token_id: tokenId! } }));
      ok(await revokeDeviceCredentials({ client: b.admin, path: { device_id: agent.deviceId } }));
      // Instance A verified both a moment ago, and still believes them...
      ok(await me(a.client(token)));
      ok(await beat());
      // ...but no longer than the cache's lifetime.
      await a.clock.advance(CREDENTIAL_CACHE_TTL_MS);
      expectProblem(await me(a.client(token)), 401, 'token_revoked');
      expectProblem(await beat(), 401, 'credentials_revoked');
    } finally {
      await b.close();
      await a.close();
    }
  });
});

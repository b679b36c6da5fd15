import { describe, expect, it } from 'vitest';
import {
  createApiToken,
  getApiToken,
  getCurrentUser,
  listApiTokens,
  listDevices,
  revokeApiToken,
  updateDevice,
  updateUser,
} from '@meridian/sdk';
import { ok } from './support/server';
import { expectProblem } from './support/problem';
import { useTestServer } from './support/use-test-server';
import { addDevice, addMember, addSite, unique } from './support/world';

const t = useTestServer();

describe('API tokens', () => {
  it('shows the secret once, stores only its hash, and records last use', async () => {
    const created = ok(
      await createApiToken({
        client: t.admin,
        body: { name: 'inventory-export', scopes: ['devices:read', 'sites:read'] },
      }),
    );
    expect(created.token).toMatch(/^mtk_[A-Za-z0-9_-]{40,}$/);
    expect(created.token.startsWith(created.prefix)).toBe(true);
    expect(created).toMatchObject({
      scopes: ['devices:read', 'sites:read'],
      expires_at: null,
      last_used_at: null,
      revoked_at: null,
    });

    const stored = await t.server.context.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    expect(stored.token_hash).not.toContain(created.token);
    expect(JSON.stringify(stored)).not.toContain(created.token);

    const me = ok(await getCurrentUser({ client: t.client(created.token) }));
    expect(me).toMatchObject({
      auth_method: 'api_token',
      api_token_id: created.id,
      scopes: ['devices:read', 'sites:read'],
    });
    const read = ok(await getApiToken({ client: t.admin, path: { token_id: created.id } }));
    expect(read.last_used_at).not.toBeNull();
    expect(read).not.toHaveProperty('token');
  });

  it('only grants scopes the creator holds (422), and only future expiries (422)', async () => {
    const viewer = await addMember(t, 'viewer', []);
    const tooMuch = await createApiToken({
      client: viewer.client,
      body: { name: 'escalate', scopes: ['devices:read', 'devices:write'] },
    });
    expectProblem(tooMuch, 422, 'scope_not_held');
    const past = await createApiToken({
      client: t.admin,
      body: { name: 'old', scopes: ['sites:read'], expires_at: '2020-01-01T00:00:00Z' },
    });
    expectProblem(past, 422, 'expiry_in_past');
    expect(ok(await listApiTokens({ client: viewer.client, query: {} })).data).toEqual([]);
  });

  it("acts within its creator's current rights and sites", async () => {
    const siteA = await addSite(t);
    const siteB = await addSite(t);
    const deviceA = await addDevice(t, siteA.id);
    await addDevice(t, siteB.id);
    const operator = await addMember(t, 'operator', [siteA.id]);
    const token = ok(
      await createApiToken({
        client: operator.client,
        body: { name: 'automation', scopes: ['devices:read', 'devices:write'] },
      }),
    ).token;
    const devices = ok(await listDevices({ client: t.client(token), query: { limit: 500 } })).data;
    expect(devices.map((device) => device.site_id)).toEqual([siteA.id]);

    // Demoting the creator takes devices:write away from the token too.
    ok(await updateUser({ client: t.admin, path: { user_id: operator.user.id }, body: { role: 'viewer' } }));
    const write = await updateDevice({
      client: t.client(token),
      path: { device_id: deviceA.id },
      body: { name: 'renamed' },
    });
    expectProblem(write, 403, 'insufficient_scope');
    expect(ok(await getCurrentUser({ client: t.client(token) })).scopes).toEqual(['devices:read']);

    // Disabling the creator suspends the token.
    ok(await updateUser({ client: t.admin, path: { user_id: operator.user.id }, body: { disabled: true } }));
    expect((await getCurrentUser({ client: t.client(token) })).response.status).toBe(401);
  });

  it("lists your own tokens; admins see everyone's and can filter by user", async () => {
    const alice = await addMember(t, 'viewer', []);
    const bob = await addMember(t, 'viewer', []);
    const aliceToken = ok(
      await createApiToken({ client: alice.client, body: { name: unique('a'), scopes: ['tokens:read'] } }),
    );
    ok(await createApiToken({ client: bob.client, body: { name: unique('b'), scopes: ['tokens:read'] } }));
    expect(
      ok(await listApiTokens({ client: alice.client, query: {} })).data.map((token) => token.id),
    ).toEqual([aliceToken.id]);
    expect(ok(await listApiTokens({ client: alice.client, query: { user_id: bob.user.id } })).data).toEqual(
      [],
    );
    expect(
      ok(await listApiTokens({ client: t.admin, query: { user_id: alice.user.id } })).data.map(
        (token) => token.id,
      ),
    ).toEqual([aliceToken.id]);
    expect(
      (await getApiToken({ client: bob.client, path: { token_id: aliceToken.id } })).response.status,
    ).toBe(404);
    expect(
      (await revokeApiToken({ client: bob.client, path: { token_id: aliceToken.id } })).response.status,
    ).toBe(404);
  });

  it('revokes at once; revoking again changes nothing', async () => {
    const created = ok(
      await createApiToken({
        client: t.admin,
        body: { name: unique('short-lived'), scopes: ['sites:read'] },
      }),
    );
    expect((await revokeApiToken({ client: t.admin, path: { token_id: created.id } })).response.status).toBe(
      204,
    );
    const refused = await getCurrentUser({ client: t.client(created.token) });
    expectProblem(refused, 401, 'token_revoked');
    const revokedAt = ok(await getApiToken({ client: t.admin, path: { token_id: created.id } })).revoked_at;
    expect(revokedAt).not.toBeNull();
    expect((await revokeApiToken({ client: t.admin, path: { token_id: created.id } })).response.status).toBe(
      204,
    );
    expect(ok(await getApiToken({ client: t.admin, path: { token_id: created.id } })).revoked_at).toBe(
      revokedAt,
    );
  });

  it('stops working when it expires', async () => {
    const expiresAt = new Date(t.clock.now().getTime() + 60 * 60 * 1000).toISOString();
    const created = ok(
      await createApiToken({
        client: t.admin,
        body: { name: unique('expiring'), scopes: ['sites:read'], expires_at: expiresAt },
      }),
    );
    expect((await getCurrentUser({ client: t.client(created.token) })).response.status).toBe(200);
    t.clock.advance(2 * 60 * 60 * 1000);
    try {
      const expired = await getCurrentUser({ client: t.client(created.token) });
      expectProblem(expired, 401, 'token_expired');
    } finally {
      t.clock.advance(-2 * 60 * 60 * 1000);
    }
  });
});

import { describe, expect, it } from 'vitest';
import {
  createUser,
  deleteUser,
  getCurrentUser,
  getUser,
  listUsers,
  login,
  resetUserPassword,
  updateUser,
  type User,
} from '@meridian/sdk';
import { ADMIN, ok } from './support/server';
import { expectProblem } from './support/problem';
import { useTestServer } from './support/use-test-server';
import { addMember, addSite, unique } from './support/world';

const t = useTestServer();

describe('users', () => {
  it('creates a user who can sign in, never returning the password', async () => {
    const site = await addSite(t);
    const username = unique('alice');
    const result = await createUser({
      client: t.admin,
      body: {
        username,
        password: 'correct-horse-battery',
        role: 'operator',
        email: 'alice@example.com',
        site_ids: [site.id],
      },
    });
    expect(result.response.status).toBe(201);
    const user = ok(result);
    expect(user).toMatchObject({
      username,
      display_name: username,
      role: 'operator',
      disabled: false,
      site_ids: [site.id],
      last_login_at: null,
    });
    expect(JSON.stringify(user)).not.toMatch(/password|scrypt/);
    const session = ok(
      await login({ client: t.client(), body: { username, password: 'correct-horse-battery' } }),
    );
    expect(ok(await getCurrentUser({ client: t.client(session.token) })).site_ids).toEqual([site.id]);
  });

  it('refuses a taken username (409, case-insensitive) and unknown sites (422)', async () => {
    const username = unique('bob');
    ok(
      await createUser({
        client: t.admin,
        body: { username, password: 'correct-horse-battery', role: 'viewer' },
      }),
    );
    const taken = await createUser({
      client: t.admin,
      body: { username, password: 'correct-horse-battery', role: 'viewer' },
    });
    expectProblem(taken, 409, 'username_taken');
    const unknownSite = await createUser({
      client: t.admin,
      body: {
        username: unique('carol'),
        password: 'correct-horse-battery',
        role: 'viewer',
        site_ids: ['site_01JC0A1B2C3D4E5F6G7H8J9K0M'],
      },
    });
    expectProblem(unknownSite, 422, 'unknown_site');
  });

  it('lists users page by page, filtered by role', async () => {
    for (let i = 0; i < 3; i++) await addMember(t, 'viewer', []);
    const seen: User[] = [];
    let cursor: string | undefined;
    do {
      const page = ok(
        await listUsers({
          client: t.admin,
          query: { limit: 2, role: 'viewer', ...(cursor ? { cursor } : {}) },
        }),
      );
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data);
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.every((user) => user.role === 'viewer')).toBe(true);
    expect(new Set(seen.map((user) => user.id)).size).toBe(seen.length);
  });

  it('updates with If-Match, and refuses a stale ETag with 412 without changing anything', async () => {
    const member = await addMember(t, 'operator', []);
    const read = await getUser({ client: t.admin, path: { user_id: member.user.id } });
    const etag = read.response.headers.get('etag')!;
    expect(etag).toMatch(/^"\d+"$/);
    const updated = await updateUser({
      client: t.admin,
      path: { user_id: member.user.id },
      headers: { 'If-Match': etag },
      body: { role: 'viewer', display_name: 'Demoted' },
    });
    expect(ok(updated)).toMatchObject({ role: 'viewer', display_name: 'Demoted' });
    expect(updated.response.headers.get('etag')).not.toBe(etag);
    const stale = await updateUser({
      client: t.admin,
      path: { user_id: member.user.id },
      headers: { 'If-Match': etag },
      body: { role: 'admin' },
    });
    expect(stale.response.status).toBe(412);
    expect(ok(await getUser({ client: t.admin, path: { user_id: member.user.id } })).role).toBe('viewer');
  });

  it('refuses an empty update with 400', async () => {
    const member = await addMember(t, 'viewer', []);
    const empty = await updateUser({ client: t.admin, path: { user_id: member.user.id }, body: {} });
    expect(empty.response.status).toBe(400);
  });

  it('never lets admins demote, disable or delete themselves (422)', async () => {
    const me = ok(await getCurrentUser({ client: t.admin })).user;
    for (const body of [{ role: 'viewer' as const }, { disabled: true }]) {
      const result = await updateUser({ client: t.admin, path: { user_id: me.id }, body });
      expectProblem(result, 422, 'cannot_modify_self');
    }
    expect((await deleteUser({ client: t.admin, path: { user_id: me.id } })).response.status).toBe(422);
    expect(ok(await getUser({ client: t.admin, path: { user_id: me.id } }))).toMatchObject({
      role: 'admin',
      disabled: false,
    });
  });

  it('deletes a user, ending their sessions; a second delete is 404', async () => {
    const member = await addMember(t, 'viewer', []);
    expect((await deleteUser({ client: t.admin, path: { user_id: member.user.id } })).response.status).toBe(
      204,
    );
    expect((await getCurrentUser({ client: member.client })).response.status).toBe(401);
    expect((await deleteUser({ client: t.admin, path: { user_id: member.user.id } })).response.status).toBe(
      404,
    );
    expect((await getUser({ client: t.admin, path: { user_id: member.user.id } })).response.status).toBe(404);
  });

  it('resets a password to a generated one, shown once, ending sessions', async () => {
    const member = await addMember(t, 'viewer', []);
    const reset = ok(
      await resetUserPassword({ client: t.admin, path: { user_id: member.user.id }, body: {} }),
    );
    expect(reset.temporary_password).toMatch(/^.{20,}$/);
    expect((await getCurrentUser({ client: member.client })).response.status).toBe(401);
    ok(
      await login({
        client: t.client(),
        body: { username: member.user.username, password: reset.temporary_password! },
      }),
    );
    const chosen = ok(
      await resetUserPassword({
        client: t.admin,
        path: { user_id: member.user.id },
        body: { password: 'chosen-by-the-admin' },
      }),
    );
    expect(chosen.temporary_password).toBeNull();
    ok(
      await login({
        client: t.client(),
        body: { username: member.user.username, password: 'chosen-by-the-admin' },
      }),
    );
  });

  it('keeps the bootstrap admin able to sign in', async () => {
    ok(await login({ client: t.client(), body: { username: ADMIN.username, password: ADMIN.password } }));
  });
});

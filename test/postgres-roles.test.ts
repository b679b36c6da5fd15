/**
 * Roles on PostgreSQL: migration 026 moves each user's role and site list (`users.role`,
 * `user_sites`) into role bindings on both engines (admins on every site, the others on their
 * sites), and the roles API (user counts, a role in use) works on a PostgreSQL server.
 */
import { type Kysely, Migrator, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRole, deleteRole, getRole, getUser, listRoles, updateUser } from '@meridian/sdk';
import { BUILT_IN_ROLE_IDS } from '../server-stub/src/access/roles';
import { migrations, openDatabase } from '../server-stub/src/store/database';
import type { Database } from '../server-stub/src/store/schema';
import { expectProblem } from './support/problem';
import { startPostgres, type Postgres } from './support/postgres';
import { ok } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addMember, addMemberWith, unique } from './support/world';

let pg: Postgres;
/** A database of its own for the migration (the server of the last test uses `postgres`). */
let legacyUrl: string;
beforeAll(async () => {
  pg = await startPostgres();
  const { db } = openDatabase(pg.url);
  await sql`create database legacy`.execute(db);
  await db.destroy();
  legacyUrl = pg.url.replace(/\/postgres$/, '/legacy');
});
afterAll(() => pg?.stop());

describe.each(['sqlite', 'postgres'] as const)('migration 026 on %s', (engine) => {
  it("moves every user's role and sites into bindings, and drops user_sites", async () => {
    const { db } = openDatabase(engine === 'sqlite' ? ':memory:' : legacyUrl);
    const raw = db as unknown as Kysely<Record<string, Record<string, unknown>>>;
    try {
      const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
      expect((await migrator.migrateTo('025-background-ticks')).error).toBeUndefined();
      const now = '2026-11-01T00:00:00.000Z';
      const user = (id: string, role: string) => ({
        id,
        username: id,
        display_name: id,
        email: null,
        role,
        disabled: 0,
        password_hash: 'x',
        created_at: now,
        updated_at: now,
      });
      await raw
        .insertInto('sites')
        .values(
          ['site_a', 'site_b'].map((id) => ({
            id,
            name: id,
            name_key: id,
            description: '',
            created_at: now,
            updated_at: now,
          })),
        )
        .execute();
      await raw
        .insertInto('users')
        .values([user('usr_admin', 'admin'), user('usr_op', 'operator'), user('usr_view', 'viewer')])
        .execute();
      await raw
        .insertInto('user_sites')
        .values([
          { user_id: 'usr_admin', site_id: 'site_a' },
          { user_id: 'usr_op', site_id: 'site_a' },
          { user_id: 'usr_op', site_id: 'site_b' },
          { user_id: 'usr_view', site_id: 'site_b' },
        ])
        .execute();

      expect((await migrator.migrateTo('026-role-bindings')).error).toBeUndefined();

      const bindings = await sql<{ user_id: string; role_id: string; all_sites: number }>`
        select user_id, role_id, all_sites from role_bindings order by user_id`.execute(db);
      expect(bindings.rows.map((row) => ({ ...row, all_sites: Number(row.all_sites) }))).toEqual([
        { user_id: 'usr_admin', role_id: BUILT_IN_ROLE_IDS.admin, all_sites: 1 },
        { user_id: 'usr_op', role_id: BUILT_IN_ROLE_IDS.operator, all_sites: 0 },
        { user_id: 'usr_view', role_id: BUILT_IN_ROLE_IDS.viewer, all_sites: 0 },
      ]);
      const sites = await sql<{ user_id: string; role_id: string; site_id: string }>`
        select user_id, role_id, site_id from role_binding_sites order by user_id, site_id`.execute(db);
      expect(sites.rows).toEqual([
        { user_id: 'usr_op', role_id: BUILT_IN_ROLE_IDS.operator, site_id: 'site_a' },
        { user_id: 'usr_op', role_id: BUILT_IN_ROLE_IDS.operator, site_id: 'site_b' },
        { user_id: 'usr_view', role_id: BUILT_IN_ROLE_IDS.viewer, site_id: 'site_b' },
      ]);
      const roles = await sql<{ id: string; name: string }>`select id, name from roles order by id`.execute(
        db,
      );
      expect(roles.rows).toEqual([
        { id: BUILT_IN_ROLE_IDS.admin, name: 'admin' },
        { id: BUILT_IN_ROLE_IDS.operator, name: 'operator' },
        { id: BUILT_IN_ROLE_IDS.viewer, name: 'viewer' },
      ]);
      await expect(sql`select * from user_sites`.execute(db)).rejects.toThrow();
    } finally {
      await db.destroy();
    }
  });
});

/** Resolves once a statement starting with `statement` waits for a lock another transaction holds. */
async function waitingOnLock(db: Kysely<Database>, statement: string): Promise<void> {
  for (;;) {
    const waiting = await sql<{ n: string }>`select count(*) as n from pg_stat_activity
      where wait_event_type = 'Lock' and starts_with(query, ${statement})`.execute(db);
    if (Number(waiting.rows[0]!.n) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('the roles API on PostgreSQL', () => {
  const t = useTestServer(() => ({ database: pg.url }));

  it('counts the holders of a role and keeps it while someone holds it', async () => {
    const role = ok(
      await createRole({ client: t.admin, body: { name: unique('pg role'), scopes: ['devices:read'] } }),
    );
    await addMemberWith(t, 'pg', { role_bindings: [{ role_id: role.id, site_ids: null }] });
    expect(ok(await getRole({ client: t.admin, path: { role_id: role.id } })).user_count).toBe(1);
    const listed = ok(await listRoles({ client: t.admin, query: { limit: 500 } })).data;
    expect(listed.find((r) => r.id === BUILT_IN_ROLE_IDS.admin)!.user_count).toBe(1);
    expectProblem(await deleteRole({ client: t.admin, path: { role_id: role.id } }), 409, 'role_in_use');
  });

  it('answers 409 role_in_use, not 500, to a delete that finds no holder but races a binding being written', async () => {
    const role = ok(
      await createRole({ client: t.admin, body: { name: unique('raced role'), scopes: ['devices:read'] } }),
    );
    const member = await addMember(t, 'viewer', []);
    const { db } = openDatabase(pg.url);
    try {
      let deleting!: ReturnType<typeof deleteRole>;
      // Another writer binds the role and has not committed: the delete counts no holder, then
      // waits on the role's row (the binding's foreign key holds a lock on it) until it commits.
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('role_bindings')
          .values({ user_id: member.user.id, role_id: role.id, all_sites: 1 })
          .execute();
        deleting = deleteRole({ client: t.admin, path: { role_id: role.id } });
        await waitingOnLock(db, 'delete from "roles"');
      });
      expectProblem(await deleting, 409, 'role_in_use');
      expect(ok(await getRole({ client: t.admin, path: { role_id: role.id } })).user_count).toBe(1);
    } finally {
      await db.destroy();
    }
  });

  it('answers 422 unknown_role, not 500, to bindings written while their role is being deleted', async () => {
    const role = ok(
      await createRole({ client: t.admin, body: { name: unique('deleted role'), scopes: ['devices:read'] } }),
    );
    const member = await addMember(t, 'viewer', []);
    const { db } = openDatabase(pg.url);
    try {
      let binding!: ReturnType<typeof updateUser>;
      // Another writer deletes the role and has not committed: the update still finds the role,
      // then its binding waits on the role's row until the delete commits.
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('roles').where('id', '=', role.id).execute();
        binding = updateUser({
          client: t.admin,
          path: { user_id: member.user.id },
          body: { role_bindings: [{ role_id: role.id, site_ids: null }] },
        });
        await waitingOnLock(db, 'insert into "role_bindings"');
      });
      expectProblem(await binding, 422, 'unknown_role');
      const unchanged = ok(await getUser({ client: t.admin, path: { user_id: member.user.id } }));
      expect(unchanged.role_bindings).toEqual(member.user.role_bindings);
    } finally {
      await db.destroy();
    }
  });
});

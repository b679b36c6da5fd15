/**
 * Roles (issue 12 §3): the built-in admin, operator and viewer are listed with their scopes and
 * cannot be changed or deleted; custom roles are created, read, changed with If-Match and deleted
 * while nobody holds them. Users hold roles through bindings (on every site or on a list of
 * sites), given through the users API, either as `role_bindings` or as the released `role` and
 * `site_ids`, which stay meaningful both ways.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import {
  createRole,
  createUser,
  deleteRole,
  getRole,
  listRoles,
  listUsers,
  updateRole,
  updateUser,
  type RoleDefinition,
} from '@meridian/sdk';
import { BUILT_IN_ROLE_IDS, ROLE_SCOPES } from '../server-stub/src/access/roles';
import { expectProblem } from './support/problem';
import { ok } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addMemberWith, addSite, unique } from './support/world';

const t = useTestServer();
const { admin: adminRole, operator: operatorRole, viewer: viewerRole } = BUILT_IN_ROLE_IDS;
const password = 'a-long-enough-password';

const newRole = async (scopes: RoleDefinition['scopes'] = ['sites:read', 'devices:read']) =>
  ok(await createRole({ client: t.admin, body: { name: unique('role'), scopes } }));

describe('roles', () => {
  it('lists the built-in roles first, with their scopes, then custom roles', async () => {
    const custom = await newRole();
    const roles = ok(await listRoles({ client: t.admin, query: { limit: 500 } })).data;
    expect(roles.slice(0, 3).map((role) => [role.id, role.name, role.built_in])).toEqual([
      [adminRole, 'admin', true],
      [operatorRole, 'operator', true],
      [viewerRole, 'viewer', true],
    ]);
    expect(roles[1]!.scopes).toEqual(ROLE_SCOPES.operator);
    expect(roles[0]!.user_count).toBeGreaterThanOrEqual(1);
    expect(roles.find((role) => role.id === custom.id)).toMatchObject({ built_in: false, user_count: 0 });
    const firstPage = ok(await listRoles({ client: t.admin, query: { limit: 2 } }));
    const secondPage = ok(
      await listRoles({ client: t.admin, query: { limit: 2, cursor: firstPage.next_cursor! } }),
    );
    expect(secondPage.data[0]!.id).toBe(viewerRole);
  });

  it('creates, reads, changes and deletes a custom role', async () => {
    const name = unique('helpdesk');
    const created = await createRole({
      client: t.admin,
      body: {
        name,
        description: 'Sends commands.',
        scopes: ['devices:read', 'commands:write'],
        require_mfa: true,
      },
    });
    expect(created.response.status).toBe(201);
    expect(created.response.headers.get('etag')).toBe('"1"');
    const role = ok(created);
    expect(role).toMatchObject({
      name,
      description: 'Sends commands.',
      scopes: ['commands:write', 'devices:read'],
      require_mfa: true,
      built_in: false,
      user_count: 0,
    });
    expect(ok(await getRole({ client: t.admin, path: { role_id: role.id } }))).toEqual(role);
    const updated = await updateRole({
      client: t.admin,
      path: { role_id: role.id },
      headers: { 'If-Match': '"1"' },
      body: { name: `${name} 2`, scopes: ['devices:read'], require_mfa: false },
    });
    expect(updated.response.headers.get('etag')).toBe('"2"');
    expect(ok(updated)).toMatchObject({ name: `${name} 2`, scopes: ['devices:read'], require_mfa: false });
    expect((await deleteRole({ client: t.admin, path: { role_id: role.id } })).response.status).toBe(204);
    expectProblem(await getRole({ client: t.admin, path: { role_id: role.id } }), 404, 'not_found');
  });

  it('refuses a taken name (409 role_name_taken), the built-in names included', async () => {
    const role = await newRole();
    for (const name of [role.name, 'operator'])
      expectProblem(
        await createRole({ client: t.admin, body: { name, scopes: ['devices:read'] } }),
        409,
        'role_name_taken',
      );
    const other = await newRole();
    expectProblem(
      await updateRole({ client: t.admin, path: { role_id: other.id }, body: { name: role.name } }),
      409,
      'role_name_taken',
    );
  });

  it('refuses a scope that does not exist (400)', async () => {
    const result = await createRole({
      client: t.admin,
      body: { name: unique('role'), scopes: ['devices:everything' as 'devices:read'] },
    });
    expectProblem(result, 400, 'validation_failed');
  });

  it('never changes or deletes a built-in role (409 role_built_in)', async () => {
    for (const roleId of Object.values(BUILT_IN_ROLE_IDS)) {
      expectProblem(
        await updateRole({ client: t.admin, path: { role_id: roleId }, body: { require_mfa: true } }),
        409,
        'role_built_in',
      );
      expectProblem(await deleteRole({ client: t.admin, path: { role_id: roleId } }), 409, 'role_built_in');
    }
    expect(ok(await getRole({ client: t.admin, path: { role_id: operatorRole } })).require_mfa).toBe(false);
  });

  it('refuses a stale If-Match (412) and unknown roles (404)', async () => {
    const role = await newRole();
    ok(await updateRole({ client: t.admin, path: { role_id: role.id }, body: { description: 'one' } }));
    expectProblem(
      await updateRole({
        client: t.admin,
        path: { role_id: role.id },
        headers: { 'If-Match': '"1"' },
        body: { description: 'two' },
      }),
      412,
      'precondition_failed',
    );
    const unknown = 'rol_01JDB2C4E6G8J0K2M4P6R8T0V2';
    expectProblem(await getRole({ client: t.admin, path: { role_id: unknown } }), 404, 'not_found');
    expectProblem(
      await updateRole({ client: t.admin, path: { role_id: unknown }, body: { description: 'x' } }),
      404,
      'not_found',
    );
    expectProblem(await deleteRole({ client: t.admin, path: { role_id: unknown } }), 404, 'not_found');
  });

  it('keeps a role someone holds (409 role_in_use) until nobody does', async () => {
    const role = await newRole();
    const member = await addMemberWith(t, 'holder', {
      role_bindings: [{ role_id: role.id, site_ids: null }],
    });
    expect(ok(await getRole({ client: t.admin, path: { role_id: role.id } })).user_count).toBe(1);
    expectProblem(await deleteRole({ client: t.admin, path: { role_id: role.id } }), 409, 'role_in_use');
    ok(
      await updateUser({
        client: t.admin,
        path: { user_id: member.user.id },
        body: { role_bindings: [{ role_id: viewerRole, site_ids: [] }] },
      }),
    );
    expect((await deleteRole({ client: t.admin, path: { role_id: role.id } })).response.status).toBe(204);
  });

  it('answers 409 role_in_use, not 500, when the role is bound after the holders were counted', async () => {
    const role = await newRole();
    const member = await addMemberWith(t, 'late-holder', { role: 'viewer', site_ids: [] });
    const { db } = t.server.context;
    // The interleaving forced: a binding lands between the delete's count of holders and its write.
    await sql`create temp trigger bind_late before delete on roles when old.id = ${sql.lit(role.id)} begin
      insert into role_bindings (user_id, role_id, all_sites) values (${sql.lit(member.user.id)}, old.id, 1); end`.execute(
      db,
    );
    try {
      expectProblem(await deleteRole({ client: t.admin, path: { role_id: role.id } }), 409, 'role_in_use');
    } finally {
      await sql`drop trigger bind_late`.execute(db);
    }
    expect(ok(await getRole({ client: t.admin, path: { role_id: role.id } })).id).toBe(role.id);
  });

  it('answers 422 unknown_role, not 500, when the role goes after the bindings were checked', async () => {
    const role = await newRole();
    const member = await addMemberWith(t, 'late-binding', { role: 'viewer', site_ids: [] });
    const { db } = t.server.context;
    // The interleaving forced: the role is deleted between the check of the bindings and their write.
    await sql`create temp trigger unbind_late before insert on role_bindings when new.role_id = ${sql.lit(role.id)}
      begin delete from roles where id = new.role_id; end`.execute(db);
    try {
      expectProblem(
        await updateUser({
          client: t.admin,
          path: { user_id: member.user.id },
          body: { role_bindings: [{ role_id: role.id, site_ids: null }] },
        }),
        422,
        'unknown_role',
      );
    } finally {
      await sql`drop trigger unbind_late`.execute(db);
    }
  });
});

describe('role bindings through the users API', () => {
  it('gives a user bindings and shows them with the released role and site_ids', async () => {
    const [siteA, siteB] = [await addSite(t), await addSite(t)];
    const custom = await newRole();
    const user = ok(
      await createUser({
        client: t.admin,
        body: {
          username: unique('bound'),
          password,
          role_bindings: [
            { role_id: viewerRole, site_ids: [siteB.id] },
            { role_id: custom.id, site_ids: [siteA.id, siteB.id] },
          ],
        },
      }),
    );
    // A custom role counts as operator for clients that only know the built-in roles.
    expect(user.role).toBe('operator');
    expect(user.site_ids).toEqual([siteA.id, siteB.id].sort());
    expect(user.role_bindings).toEqual(
      [
        { role_id: viewerRole, site_ids: [siteB.id] },
        { role_id: custom.id, site_ids: [siteA.id, siteB.id].sort() },
      ].sort((a, b) => a.role_id.localeCompare(b.role_id)),
    );
    const operators = ok(await listUsers({ client: t.admin, query: { role: 'operator', limit: 500 } })).data;
    expect(operators.map((u) => u.id)).toContain(user.id);
  });

  it('turns the released role and site_ids into one binding, on create and on update', async () => {
    const [siteA, siteB] = [await addSite(t), await addSite(t)];
    const user = ok(
      await createUser({
        client: t.admin,
        body: { username: unique('legacy'), password, role: 'operator', site_ids: [siteA.id] },
      }),
    );
    expect(user.role_bindings).toEqual([{ role_id: operatorRole, site_ids: [siteA.id] }]);
    // The field left out keeps the value the user shows.
    const viewer = ok(
      await updateUser({ client: t.admin, path: { user_id: user.id }, body: { role: 'viewer' } }),
    );
    expect(viewer.role_bindings).toEqual([{ role_id: viewerRole, site_ids: [siteA.id] }]);
    const moved = ok(
      await updateUser({ client: t.admin, path: { user_id: user.id }, body: { site_ids: [siteB.id] } }),
    );
    expect(moved).toMatchObject({
      role: 'viewer',
      site_ids: [siteB.id],
      role_bindings: [{ role_id: viewerRole, site_ids: [siteB.id] }],
    });
    const admin = ok(
      await updateUser({ client: t.admin, path: { user_id: user.id }, body: { role: 'admin' } }),
    );
    expect(admin).toMatchObject({
      role: 'admin',
      site_ids: [],
      role_bindings: [{ role_id: adminRole, site_ids: null }],
    });
  });

  it('refuses bindings that do not hold together (422), changing nothing', async () => {
    const site = await addSite(t);
    const member = await addMemberWith(t, 'target', { role: 'viewer', site_ids: [site.id] });
    const cases: [Parameters<typeof updateUser>[0]['body'], string][] = [
      [
        { role: 'operator', role_bindings: [{ role_id: operatorRole, site_ids: null }] },
        'role_bindings_conflict',
      ],
      [{ role_bindings: [{ role_id: 'rol_01JDB2C4E6G8J0K2M4P6R8T0V2', site_ids: null }] }, 'unknown_role'],
      [
        { role_bindings: [{ role_id: viewerRole, site_ids: ['site_01JC0A1B2C3D4E5F6G7H8J9K0M'] }] },
        'unknown_site',
      ],
      [
        {
          role_bindings: [
            { role_id: viewerRole, site_ids: [site.id] },
            { role_id: viewerRole, site_ids: null },
          ],
        },
        'duplicate_role_binding',
      ],
      [{ role_bindings: [{ role_id: adminRole, site_ids: [site.id] }] }, 'admin_role_all_sites'],
    ];
    for (const [body, code] of cases)
      expectProblem(
        await updateUser({ client: t.admin, path: { user_id: member.user.id }, body }),
        422,
        code,
      );
    expectProblem(
      await createUser({ client: t.admin, body: { username: unique('roleless'), password } }),
      422,
      'role_required',
    );
    expectProblem(
      await createUser({
        client: t.admin,
        body: { username: unique('sitesonly'), password, site_ids: [site.id] },
      }),
      422,
      'role_required',
    );
    const after = ok(
      await updateUser({
        client: t.admin,
        path: { user_id: member.user.id },
        body: { display_name: 'Same' },
      }),
    );
    expect(after.role_bindings).toEqual([{ role_id: viewerRole, site_ids: [site.id] }]);
  });

  it('refuses an empty list of bindings (400)', async () => {
    const member = await addMemberWith(t, 'empty', { role: 'viewer', site_ids: [] });
    expectProblem(
      await updateUser({ client: t.admin, path: { user_id: member.user.id }, body: { role_bindings: [] } }),
      400,
      'validation_failed',
    );
  });
});

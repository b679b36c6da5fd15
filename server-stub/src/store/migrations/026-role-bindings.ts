/**
 * Roles and role bindings (issue 12 §3): a role is a named set of scopes (the built-in admin,
 * operator and viewer, whose scopes live in access/roles.ts, and custom ones); a user holds roles
 * through bindings, each on every site or on a list of sites. Every user's role and site list
 * (`users.role`, `user_sites`) becomes one binding: admins on every site, the others on their
 * sites. `users.role` stays, kept as the built-in role the API shows (access/role-bindings.ts).
 */
import { type Kysely, sql } from 'kysely';

/** The built-in roles' fixed IDs (as access/roles-store.ts names them). */
const BUILT_IN = [
  { id: 'rol_000000000000000001ADM1N000', name: 'admin' },
  { id: 'rol_0000000000000000020PERAT0R', name: 'operator' },
  { id: 'rol_000000000000000003V1EWER00', name: 'viewer' },
] as const;

const roleIdOf = sql`case u.role when 'admin' then ${BUILT_IN[0].id} when 'operator' then ${BUILT_IN[1].id} else ${BUILT_IN[2].id} end`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('roles')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('name', 'text', (col) => col.notNull().unique())
    .addColumn('description', 'text', (col) => col.notNull())
    .addColumn('scopes', 'text', (col) => col.notNull())
    .addColumn('require_mfa', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('built_in', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('version', 'integer', (col) => col.notNull().defaultTo(1))
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('updated_at', 'text', (col) => col.notNull())
    .execute();
  await db.schema
    .createTable('role_bindings')
    .addColumn('user_id', 'text', (col) => col.notNull().references('users.id').onDelete('cascade'))
    // A role someone holds cannot go (the API answers 409 role_in_use before this would refuse).
    .addColumn('role_id', 'text', (col) => col.notNull().references('roles.id').onDelete('restrict'))
    .addColumn('all_sites', 'integer', (col) => col.notNull())
    .addPrimaryKeyConstraint('role_bindings_pk', ['user_id', 'role_id'])
    .execute();
  await db.schema.createIndex('role_bindings_role').on('role_bindings').column('role_id').execute();
  await db.schema
    .createTable('role_binding_sites')
    .addColumn('user_id', 'text', (col) => col.notNull())
    .addColumn('role_id', 'text', (col) => col.notNull())
    .addColumn('site_id', 'text', (col) => col.notNull().references('sites.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('role_binding_sites_pk', ['user_id', 'role_id', 'site_id'])
    .addForeignKeyConstraint(
      'role_binding_sites_binding',
      ['user_id', 'role_id'],
      'role_bindings',
      ['user_id', 'role_id'],
      (fk) => fk.onDelete('cascade'),
    )
    .execute();
  await db.schema.createIndex('role_binding_sites_site').on('role_binding_sites').column('site_id').execute();

  const now = new Date().toISOString();
  for (const role of BUILT_IN)
    await sql`insert into roles (id, name, description, scopes, require_mfa, built_in, version, created_at, updated_at)
      values (${role.id}, ${role.name}, '', '[]', 0, 1, 1, ${now}, ${now})`.execute(db);
  await sql`insert into role_bindings (user_id, role_id, all_sites)
    select u.id, ${roleIdOf}, case when u.role = 'admin' then 1 else 0 end from users u`.execute(db);
  await sql`insert into role_binding_sites (user_id, role_id, site_id)
    select u.id, ${roleIdOf}, us.site_id from user_sites us join users u on u.id = us.user_id
    where u.role <> 'admin'`.execute(db);
  await db.schema.dropTable('user_sites').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('user_sites')
    .addColumn('user_id', 'text', (col) => col.notNull().references('users.id').onDelete('cascade'))
    .addColumn('site_id', 'text', (col) => col.notNull().references('sites.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('user_sites_pk', ['user_id', 'site_id'])
    .execute();
  await sql`insert into user_sites (user_id, site_id)
    select distinct user_id, site_id from role_binding_sites`.execute(db);
  await db.schema.dropTable('role_binding_sites').execute();
  await db.schema.dropTable('role_bindings').execute();
  await db.schema.dropTable('roles').execute();
}

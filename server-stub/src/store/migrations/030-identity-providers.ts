/**
 * Identity providers (OpenID Connect providers and LDAP directories operators sign in with), their
 * secret sealed like webhook secrets, and where each user comes from: `local`, or the provider
 * that created it at its first sign-in and the user's ID there (the OIDC `sub`, the LDAP entry's DN).
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('identity_providers')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('enabled', 'integer', (col) => col.notNull())
    .addColumn('settings', 'text', (col) => col.notNull())
    .addColumn('secret', 'text')
    .addColumn('allowed_domains', 'text', (col) => col.notNull())
    .addColumn('role_mappings', 'text', (col) => col.notNull())
    .addColumn('default_role', 'text')
    .addColumn('version', 'integer', (col) => col.notNull().defaultTo(1))
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('updated_at', 'text', (col) => col.notNull())
    .execute();
  await db.schema
    .alterTable('users')
    .addColumn('source', 'text', (col) => col.notNull().defaultTo('local'))
    .execute();
  await db.schema.alterTable('users').addColumn('identity_provider_id', 'text').execute();
  await db.schema.alterTable('users').addColumn('external_id', 'text').execute();
  await db.schema
    .createIndex('users_identity')
    .on('users')
    .columns(['identity_provider_id', 'external_id'])
    .unique()
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('users_identity').execute();
  for (const column of ['external_id', 'identity_provider_id', 'source'])
    await db.schema.alterTable('users').dropColumn(column).execute();
  await db.schema.dropTable('identity_providers').execute();
}

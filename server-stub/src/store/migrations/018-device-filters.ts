/**
 * Saved device filters (their expression as JSON, compiled to SQL when used) and, on PostgreSQL,
 * the `meridian_version_key` function filters compare versions with (SQLite connections register
 * the same function in database.ts).
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';
import { POSTGRES_VERSION_KEY_FUNCTION } from '../version-key';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('device_filters')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('name', 'text', (col) => col.notNull().unique())
    .addColumn('description', 'text', (col) => col.notNull())
    .addColumn('expression', 'text', (col) => col.notNull())
    .addColumn('created_by', 'text', (col) => col.notNull())
    .addColumn('archived_at', 'text')
    .addColumn('version', 'integer', (col) => col.notNull().defaultTo(1))
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('updated_at', 'text', (col) => col.notNull())
    .execute();
  if (isPostgres(db)) await sql.raw(POSTGRES_VERSION_KEY_FUNCTION).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('device_filters').execute();
  if (isPostgres(db)) await sql`drop function meridian_version_key(text)`.execute(db);
}

export const isPostgres = (db: Kysely<unknown>) => db.getExecutor().adapter instanceof PostgresAdapter;

/**
 * The script library: each script's current content, and every version it has had (one row per
 * change, the first at creation), so a job can run exactly the version it was given.
 */
import type { CreateTableBuilder, Kysely } from 'kysely';

/** The columns a script and each of its versions share. */
const content = <Name extends string, Columns extends string>(table: CreateTableBuilder<Name, Columns>) =>
  table
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('description', 'text', (col) => col.notNull())
    .addColumn('language', 'text', (col) => col.notNull())
    .addColumn('platforms', 'text', (col) => col.notNull())
    .addColumn('body', 'text', (col) => col.notNull())
    .addColumn('parameters', 'text', (col) => col.notNull())
    .addColumn('timeout_seconds', 'integer', (col) => col.notNull())
    .addColumn('run_as', 'text', (col) => col.notNull());

export async function up(db: Kysely<unknown>): Promise<void> {
  await content(db.schema.createTable('scripts').addColumn('id', 'text', (col) => col.primaryKey()))
    .addColumn('version', 'integer', (col) => col.notNull().defaultTo(1))
    .addColumn('created_by', 'text', (col) => col.notNull())
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('updated_at', 'text', (col) => col.notNull())
    .execute();
  await content(
    db.schema
      .createTable('script_versions')
      .addColumn('id', 'text', (col) => col.primaryKey())
      .addColumn('script_id', 'text', (col) => col.notNull().references('scripts.id').onDelete('cascade'))
      .addColumn('version', 'integer', (col) => col.notNull()),
  )
    .addColumn('changed_by', 'text', (col) => col.notNull())
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addUniqueConstraint('script_versions_script_version', ['script_id', 'version'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('script_versions').execute();
  await db.schema.dropTable('scripts').execute();
}

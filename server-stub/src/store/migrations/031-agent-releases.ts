/**
 * Agent releases: a version on a channel, and its builds, one per platform at most: a file in the
 * blob store (by its SHA-256) or a URL with its SHA-256.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('agent_releases')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('version', 'text', (col) => col.notNull().unique())
    .addColumn('channel', 'text', (col) => col.notNull())
    .addColumn('notes', 'text', (col) => col.notNull())
    .addColumn('created_by', 'text', (col) => col.notNull())
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('updated_at', 'text', (col) => col.notNull())
    .execute();
  await db.schema
    .createIndex('agent_releases_channel')
    .on('agent_releases')
    .columns(['channel', 'id'])
    .execute();
  await db.schema
    .createTable('agent_release_artifacts')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('release_id', 'text', (col) =>
      col.notNull().references('agent_releases.id').onDelete('cascade'),
    )
    .addColumn('platform', 'text', (col) => col.notNull())
    .addColumn('file_name', 'text', (col) => col.notNull())
    .addColumn('sha256', 'text', (col) => col.notNull())
    .addColumn('size_bytes', 'bigint')
    .addColumn('source', 'text', (col) => col.notNull())
    .addColumn('url', 'text')
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addUniqueConstraint('agent_release_artifacts_platform', ['release_id', 'platform'])
    .execute();
  // Whether a stored file is still used by a release, when one is replaced or deleted.
  await db.schema
    .createIndex('agent_release_artifacts_sha256')
    .on('agent_release_artifacts')
    .column('sha256')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('agent_release_artifacts').execute();
  await db.schema.dropTable('agent_releases').execute();
}

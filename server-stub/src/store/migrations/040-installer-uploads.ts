/**
 * Installers whose file is uploaded to Meridian (issue 13 §3): `source` says where agents get the
 * file (`url`: from the installer's own URL; `upload`: from this server), and `size_bytes` is set
 * once the upload is stored.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('installers')
    .addColumn('source', 'text', (col) => col.notNull().defaultTo('url'))
    .execute();
  await db.schema.alterTable('installers').addColumn('size_bytes', 'bigint').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('installers').dropColumn('size_bytes').execute();
  await db.schema.alterTable('installers').dropColumn('source').execute();
}

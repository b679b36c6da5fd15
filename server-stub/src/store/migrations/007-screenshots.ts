/**
 * Screenshots agents upload: the last 20 per device. The JPEG is kept as base64 text, which
 * both engines store the same way (2 MiB images at most).
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('device_screenshots')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('device_id', 'text', (col) => col.notNull().references('devices.id').onDelete('cascade'))
    .addColumn('captured_at', 'text', (col) => col.notNull())
    .addColumn('size_bytes', 'integer', (col) => col.notNull())
    .addColumn('width', 'integer', (col) => col.notNull())
    .addColumn('height', 'integer', (col) => col.notNull())
    .addColumn('jpeg_base64', 'text', (col) => col.notNull())
    .execute();
  await db.schema
    .createIndex('device_screenshots_device')
    .on('device_screenshots')
    .columns(['device_id', 'id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('device_screenshots').execute();
}

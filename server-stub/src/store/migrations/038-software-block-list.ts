/**
 * The software block list (issue 13 §3): software that must not be uninstalled from devices, and
 * each device's overrides (exempt from an entry, or blocking more software of its own). Deleting
 * an entry or a device deletes the overrides that name it.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('software_block_entries')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('name_pattern', 'text', (col) => col.notNull())
    .addColumn('publisher', 'text')
    .addColumn('version', 'text')
    .addColumn('reason', 'text', (col) => col.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('updated_at', 'text', (col) => col.notNull())
    .execute();
  await db.schema
    .createTable('software_block_overrides')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('device_id', 'text', (col) => col.notNull().references('devices.id').onDelete('cascade'))
    .addColumn('effect', 'text', (col) => col.notNull())
    .addColumn('block_entry_id', 'text', (col) =>
      col.references('software_block_entries.id').onDelete('cascade'),
    )
    .addColumn('name_pattern', 'text')
    .addColumn('publisher', 'text')
    .addColumn('version', 'text')
    .addColumn('reason', 'text', (col) => col.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (col) => col.notNull())
    .execute();
  await db.schema
    .createIndex('software_block_overrides_device')
    .on('software_block_overrides')
    .columns(['device_id', 'id'])
    .execute();
  await db.schema
    .createIndex('software_block_overrides_entry')
    .on('software_block_overrides')
    .column('block_entry_id')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('software_block_overrides').execute();
  await db.schema.dropTable('software_block_entries').execute();
}

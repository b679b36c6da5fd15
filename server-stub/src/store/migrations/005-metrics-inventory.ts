/** What agents report besides heartbeats: metric samples kept for history, and inventories. */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('device_metrics')
    .addColumn('device_id', 'text', (col) => col.notNull().references('devices.id').onDelete('cascade'))
    .addColumn('recorded_at', 'text', (col) => col.notNull())
    .addColumn('cpu_percent', 'double precision', (col) => col.notNull())
    .addColumn('memory_percent', 'double precision', (col) => col.notNull())
    .addColumn('disk_percent', 'double precision', (col) => col.notNull())
    .execute();
  await db.schema
    .createIndex('device_metrics_device_time')
    .on('device_metrics')
    .columns(['device_id', 'recorded_at'])
    .execute();
  await db.schema.createIndex('device_metrics_time').on('device_metrics').column('recorded_at').execute();

  await db.schema
    .createTable('device_inventories')
    .addColumn('device_id', 'text', (col) => col.primaryKey().references('devices.id').onDelete('cascade'))
    .addColumn('reported_at', 'text', (col) => col.notNull())
    .addColumn('hardware', 'text', (col) => col.notNull())
    .addColumn('software', 'text', (col) => col.notNull())
    .addColumn('services', 'text', (col) => col.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('device_inventories').execute();
  await db.schema.dropTable('device_metrics').execute();
}

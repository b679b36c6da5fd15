/**
 * Fleet core, part two: every device has a device type (which decides the commands it
 * accepts), and commands carry work to a device's agent and its outcome back.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('devices')
    .addColumn('device_type', 'text', (col) => col.notNull().defaultTo('workstation'))
    .execute();

  await db.schema
    .createTable('commands')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('device_id', 'text', (col) => col.notNull().references('devices.id').onDelete('cascade'))
    .addColumn('type', 'text', (col) => col.notNull())
    .addColumn('params', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('timeout_seconds', 'integer', (col) => col.notNull())
    .addColumn('created_by', 'text', (col) => col.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('delivered_at', 'text')
    .addColumn('started_at', 'text')
    .addColumn('finished_at', 'text')
    .addColumn('expires_at', 'text', (col) => col.notNull())
    .addColumn('progress_percent', 'integer')
    .addColumn('progress_message', 'text')
    .addColumn('result', 'text')
    .execute();
  await db.schema
    .createIndex('commands_device_status')
    .on('commands')
    .columns(['device_id', 'status'])
    .execute();
  await db.schema
    .createIndex('commands_status_expires')
    .on('commands')
    .columns(['status', 'expires_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('commands').execute();
  await db.schema.alterTable('devices').dropColumn('device_type').execute();
}

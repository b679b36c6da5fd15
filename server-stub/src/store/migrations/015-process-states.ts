/**
 * What agents report of their monitored processes — the latest state of each, kept apart from
 * the process's settings so reports never touch its version or the desired configuration — and
 * the processes `process_down` alert rules watch.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('process_states')
    .addColumn('process_id', 'text', (col) =>
      col.primaryKey().references('monitored_processes.id').onDelete('cascade'),
    )
    .addColumn('device_id', 'text', (col) => col.notNull())
    .addColumn('state', 'text', (col) => col.notNull())
    .addColumn('pid', 'integer')
    .addColumn('restart_count', 'integer')
    .addColumn('state_changed_at', 'text', (col) => col.notNull())
    .addColumn('reported_at', 'text', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('process_states_device').on('process_states').column('device_id').execute();
  await db.schema.alterTable('alert_rules').addColumn('process_name', 'text').execute();
  await db.schema.alterTable('alert_rules').addColumn('process_id', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('alert_rules').dropColumn('process_id').execute();
  await db.schema.alterTable('alert_rules').dropColumn('process_name').execute();
  await db.schema.dropTable('process_states').execute();
}

/**
 * Jobs: one piece of work (a catalogue command or a script) over many devices, each target a
 * command of its own. `commands.job_id` ties a command to its job, so the job's counts and its
 * end are read from the commands the agents already report on.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('jobs')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('command_type', 'text', (col) => col.notNull())
    .addColumn('params', 'text', (col) => col.notNull())
    .addColumn('script_id', 'text')
    .addColumn('script_version', 'integer')
    .addColumn('target', 'text', (col) => col.notNull())
    .addColumn('filter_id', 'text')
    .addColumn('timeout_seconds', 'integer', (col) => col.notNull())
    .addColumn('state', 'text', (col) => col.notNull())
    .addColumn('attempt', 'integer', (col) => col.notNull())
    .addColumn('schedule_id', 'text')
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('finished_at', 'text')
    .addColumn('cancelled_at', 'text')
    .execute();
  await db.schema.createIndex('jobs_state').on('jobs').columns(['state', 'id']).execute();
  await db.schema.createIndex('jobs_script').on('jobs').columns(['script_id', 'id']).execute();
  await db.schema.createIndex('jobs_filter').on('jobs').columns(['filter_id']).execute();
  await db.schema.createIndex('jobs_schedule').on('jobs').columns(['schedule_id', 'id']).execute();

  await db.schema
    .createTable('job_targets')
    .addColumn('job_id', 'text', (col) => col.notNull().references('jobs.id').onDelete('cascade'))
    .addColumn('device_id', 'text', (col) => col.notNull().references('devices.id').onDelete('cascade'))
    .addColumn('command_id', 'text')
    .addColumn('unsupported_reason', 'text')
    .addColumn('attempts', 'integer', (col) => col.notNull())
    .addPrimaryKeyConstraint('job_targets_pk', ['job_id', 'device_id'])
    .execute();

  await db.schema.alterTable('commands').addColumn('job_id', 'text').execute();
  await db.schema.createIndex('commands_job').on('commands').columns(['job_id', 'status']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('commands_job').execute();
  await db.schema.alterTable('commands').dropColumn('job_id').execute();
  await db.schema.dropTable('job_targets').execute();
  await db.schema.dropTable('jobs').execute();
}

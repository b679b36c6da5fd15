/**
 * Schedules: a job body and when to start it (cron in a time zone, an interval, or once). The
 * ticker claims a due schedule by moving `next_run_at` on with a conditional update, in the
 * transaction that starts the job, so each run starts once however many instances tick.
 * `schedule_sites` lists the sites a schedule may act on (none for an admin's fleet-wide one),
 * so lists are scoped to the caller's sites in SQL; `filter_id` names the saved device filter its job
 * targets (for the filter's usage).
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('schedules')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('description', 'text', (col) => col.notNull())
    .addColumn('enabled', 'integer', (col) => col.notNull())
    .addColumn('trigger_kind', 'text', (col) => col.notNull())
    .addColumn('cron', 'text')
    .addColumn('time_zone', 'text')
    .addColumn('interval_seconds', 'integer')
    .addColumn('anchor_at', 'text')
    .addColumn('run_at', 'text')
    .addColumn('missed_runs', 'text', (col) => col.notNull())
    .addColumn('job', 'text', (col) => col.notNull())
    .addColumn('filter_id', 'text')
    .addColumn('all_sites', 'integer', (col) => col.notNull())
    .addColumn('next_run_at', 'text')
    .addColumn('last_run_job_id', 'text')
    .addColumn('last_run_cause', 'text')
    .addColumn('last_run_scheduled_for', 'text')
    .addColumn('last_run_at', 'text')
    .addColumn('last_skipped_at', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_by', 'text')
    .addColumn('version', 'integer', (col) => col.notNull().defaultTo(1))
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('updated_at', 'text', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('schedules_due').on('schedules').columns(['enabled', 'next_run_at']).execute();
  await db.schema.createIndex('schedules_filter').on('schedules').columns(['filter_id']).execute();

  await db.schema
    .createTable('schedule_sites')
    .addColumn('schedule_id', 'text', (col) => col.notNull().references('schedules.id').onDelete('cascade'))
    .addColumn('site_id', 'text', (col) => col.notNull().references('sites.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('schedule_sites_pk', ['schedule_id', 'site_id'])
    .execute();
  await db.schema.createIndex('schedule_sites_site').on('schedule_sites').columns(['site_id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('schedule_sites').execute();
  await db.schema.dropTable('schedules').execute();
}

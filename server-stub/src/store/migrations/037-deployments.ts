/**
 * Deployments (issue 13 §3): an installer installed or uninstalled on devices, run as a job of
 * `install_software` / `uninstall_software` commands. The installer's name, version and platform
 * are kept as they were (an installer can be deleted after it was deployed). Commands record the
 * stage their agent reports (downloading, installing, uninstalling) beside their progress.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('deployments')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('job_id', 'text', (col) => col.notNull().unique().references('jobs.id').onDelete('cascade'))
    .addColumn('installer_id', 'text', (col) => col.notNull())
    .addColumn('software_name', 'text', (col) => col.notNull())
    .addColumn('software_version', 'text', (col) => col.notNull())
    .addColumn('platform', 'text', (col) => col.notNull())
    .addColumn('action', 'text', (col) => col.notNull())
    .execute();
  await db.schema
    .createIndex('deployments_installer')
    .on('deployments')
    .columns(['installer_id', 'id'])
    .execute();
  await db.schema.alterTable('commands').addColumn('progress_stage', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('commands').dropColumn('progress_stage').execute();
  await db.schema.dropTable('deployments').execute();
}

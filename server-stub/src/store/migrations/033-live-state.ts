/**
 * Live state of devices (issue 13 §4): how a monitored process last ended (exit status or
 * signal, and when), as its agent reports it with the process's state.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('process_states').addColumn('last_exit_code', 'integer').execute();
  await db.schema.alterTable('process_states').addColumn('last_exit_signal', 'text').execute();
  await db.schema.alterTable('process_states').addColumn('last_exit_at', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('process_states').dropColumn('last_exit_at').execute();
  await db.schema.alterTable('process_states').dropColumn('last_exit_signal').execute();
  await db.schema.alterTable('process_states').dropColumn('last_exit_code').execute();
}

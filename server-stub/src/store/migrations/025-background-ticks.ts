/**
 * Periodic work done once per tick across instances (runtime/ticks.ts): for each kind of work,
 * when its next run is due. The instance whose conditional write moves `next_run_at` on does
 * the tick's work; the others' ticks in the same interval do nothing.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('background_ticks')
    .addColumn('work', 'text', (col) => col.primaryKey())
    .addColumn('next_run_at', 'text', (col) => col.notNull())
    .execute();
}

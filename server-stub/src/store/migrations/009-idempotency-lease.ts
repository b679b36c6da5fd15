/**
 * Idempotency claims get a lease: `locked_until` is how long the request that claimed a key may
 * still be running it. A claim with no outcome whose lease has run out belonged to a request that
 * died with its process, and a retry takes it over (http/idempotency.ts). Claims left by earlier
 * versions get a lease that has already run out.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('idempotency_keys').addColumn('locked_until', 'text').execute();
  await db
    .updateTable('idempotency_keys' as never)
    .set({ locked_until: sql`created_at` } as never)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('idempotency_keys').dropColumn('locked_until').execute();
}

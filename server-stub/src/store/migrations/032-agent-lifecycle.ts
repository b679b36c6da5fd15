/**
 * Agent credentials and updates (issue 13): when each agent access token was last presented
 * (agent/credentials.ts marks it at most every few minutes).
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('agent_tokens').addColumn('last_used_at', 'text').execute();
}

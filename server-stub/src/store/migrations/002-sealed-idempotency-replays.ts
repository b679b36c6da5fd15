/**
 * Idempotency replays are stored sealed: the key itself is kept only as a digest and the stored
 * response is encrypted with a key derived from it (see http/replay-seal.ts), so a response that
 * carries a one-time secret (an API token, a registration token) is not readable at rest. The
 * replay also keeps the headers that describe the resource (ETag, Location).
 * Existing rows were stored in the clear; they are short-lived, so they are dropped.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.deleteFrom('idempotency_keys' as never).execute();
  await db.schema.alterTable('idempotency_keys').renameColumn('key', 'key_digest').execute();
  await db.schema.alterTable('idempotency_keys').addColumn('response_headers', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.deleteFrom('idempotency_keys' as never).execute();
  await db.schema.alterTable('idempotency_keys').dropColumn('response_headers').execute();
  await db.schema.alterTable('idempotency_keys').renameColumn('key_digest', 'key').execute();
}

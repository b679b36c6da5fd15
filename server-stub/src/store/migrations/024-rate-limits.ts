/**
 * The rate-limit counters several instances share on PostgreSQL (http/rate-limit.ts): one row per
 * key (`api:user:usr_…`, `login-username:<hash>`, …) with the points spent in its window and when
 * that window ends (`expire`, milliseconds since the epoch). The table is rate-limiter-flexible's
 * RateLimiterPostgres layout, created here rather than by the library at start (`tableCreated`),
 * so the schema has one owner and a start does not race another instance's CREATE TABLE. On
 * SQLite, a single instance, the counters stay in the process's memory and no table is made.
 */
import type { Kysely } from 'kysely';
import { isPostgres } from './018-device-filters';

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!isPostgres(db)) return;
  await db.schema
    .createTable('rate_limits')
    .addColumn('key', 'varchar(255)', (col) => col.primaryKey())
    .addColumn('points', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('expire', 'bigint')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (isPostgres(db)) await db.schema.dropTable('rate_limits').execute();
}

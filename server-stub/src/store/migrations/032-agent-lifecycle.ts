/**
 * Agent credentials and updates (issue 13): when each agent access token was last presented
 * (agent/credentials.ts marks it at most every few minutes); the release channel a device or a
 * site follows; rollouts of agent releases and where each device stands in one
 * (lifecycle/rollouts-store.ts).
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('agent_tokens').addColumn('last_used_at', 'text').execute();
  await db.schema.alterTable('devices').addColumn('channel', 'text').execute();
  await db.schema.alterTable('sites').addColumn('channel', 'text').execute();
  await db.schema
    .createTable('rollouts')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('release_id', 'text', (col) => col.notNull())
    .addColumn('version', 'text', (col) => col.notNull())
    .addColumn('channel', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('pause_reason', 'text')
    .addColumn('batch_size', 'integer', (col) => col.notNull())
    .addColumn('batch_count', 'integer', (col) => col.notNull())
    .addColumn('current_batch', 'integer', (col) => col.notNull())
    .addColumn('failure_threshold', 'integer', (col) => col.notNull())
    // Failures before the last resume, which the threshold no longer counts.
    .addColumn('failures_forgiven', 'integer', (col) => col.notNull())
    .addColumn('batch_interval_seconds', 'integer', (col) => col.notNull())
    .addColumn('device_timeout_seconds', 'integer', (col) => col.notNull())
    // When the next batch may start (the current one finished, plus the interval); null while it runs.
    .addColumn('next_batch_at', 'text')
    .addColumn('created_by', 'text', (col) => col.notNull())
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('updated_at', 'text', (col) => col.notNull())
    .addColumn('finished_at', 'text')
    .execute();
  await db.schema.createIndex('rollouts_status').on('rollouts').columns(['status', 'id']).execute();
  await db.schema
    .createTable('rollout_devices')
    .addColumn('rollout_id', 'text', (col) => col.notNull().references('rollouts.id').onDelete('cascade'))
    .addColumn('device_id', 'text', (col) => col.notNull())
    .addColumn('batch', 'integer', (col) => col.notNull())
    .addColumn('state', 'text', (col) => col.notNull())
    .addColumn('from_version', 'text')
    .addColumn('error', 'text')
    .addColumn('started_at', 'text')
    .addColumn('deadline_at', 'text')
    .addColumn('finished_at', 'text')
    .addPrimaryKeyConstraint('rollout_devices_pk', ['rollout_id', 'device_id'])
    .execute();
  // A device's unfinished rollout (the heartbeat's agent_update, one rollout per device at a time).
  await db.schema
    .createIndex('rollout_devices_device')
    .on('rollout_devices')
    .columns(['device_id', 'state'])
    .execute();
}

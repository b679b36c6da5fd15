/**
 * Fleet core, part one: enrolment codes and the approval queue, agent credentials, what agents
 * report about their devices, and the event log that enrolment and presence write to.
 *
 * Agent tokens have no foreign key to their device on purpose: deleting a device keeps its
 * tokens' rows, so an agent still holding one is told `device_deleted` instead of an
 * unexplained `invalid_token`.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sites').addColumn('auto_approve_until', 'text').execute();

  for (const [name, type] of [
    ['fingerprint', 'text'],
    ['os_name', 'text'],
    ['os_version', 'text'],
    ['uptime_seconds', 'bigint'],
    ['metrics', 'text'],
    ['enrolled_at', 'text'],
    ['credentials_revoked_at', 'text'],
  ] as const) {
    await db.schema.alterTable('devices').addColumn(name, type).execute();
  }
  await db.schema
    .alterTable('devices')
    .addColumn('addresses', 'text', (col) => col.notNull().defaultTo('[]'))
    .execute();
  await db.schema.createIndex('devices_fingerprint').on('devices').column('fingerprint').unique().execute();
  await db.schema
    .createIndex('devices_status_last_seen')
    .on('devices')
    .columns(['status', 'last_seen_at'])
    .execute();

  await db.schema
    .createTable('enrollment_codes')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('site_id', 'text', (col) => col.notNull().references('sites.id').onDelete('cascade'))
    .addColumn('label', 'text', (col) => col.notNull())
    .addColumn('code_hash', 'text', (col) => col.notNull().unique())
    .addColumn('code_prefix', 'text', (col) => col.notNull())
    .addColumn('auto_approve', 'integer', (col) => col.notNull())
    .addColumn('expires_at', 'text', (col) => col.notNull())
    .addColumn('max_uses', 'integer')
    .addColumn('use_count', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('created_by', 'text', (col) => col.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('revoked_at', 'text')
    .execute();
  await db.schema.createIndex('enrollment_codes_site_id').on('enrollment_codes').column('site_id').execute();

  await db.schema
    .createTable('enrollment_requests')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('site_id', 'text', (col) => col.references('sites.id').onDelete('cascade'))
    .addColumn('code_id', 'text', (col) => col.references('enrollment_codes.id').onDelete('set null'))
    .addColumn('fingerprint', 'text', (col) => col.notNull())
    .addColumn('facts', 'text', (col) => col.notNull())
    .addColumn('device_id', 'text', (col) => col.references('devices.id').onDelete('set null'))
    .addColumn('poll_token_hash', 'text', (col) => col.unique())
    .addColumn('source_ip', 'text', (col) => col.notNull())
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('expires_at', 'text', (col) => col.notNull())
    .addColumn('decided_at', 'text')
    .addColumn('decided_by', 'text', (col) => col.references('users.id').onDelete('set null'))
    .addColumn('deny_reason', 'text')
    .execute();
  await db.schema
    .createIndex('enrollment_requests_status')
    .on('enrollment_requests')
    .columns(['status', 'expires_at'])
    .execute();
  await db.schema
    .createIndex('enrollment_requests_fingerprint')
    .on('enrollment_requests')
    .column('fingerprint')
    .execute();

  await db.schema
    .createTable('agent_tokens')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('device_id', 'text', (col) => col.notNull())
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('token_hash', 'text', (col) => col.notNull().unique())
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('expires_at', 'text', (col) => col.notNull())
    .addColumn('used_at', 'text')
    .addColumn('revoked_at', 'text')
    .execute();
  await db.schema.createIndex('agent_tokens_device_id').on('agent_tokens').column('device_id').execute();

  await db.schema
    .createTable('events')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('type', 'text', (col) => col.notNull())
    .addColumn('severity', 'text', (col) => col.notNull())
    .addColumn('source', 'text', (col) => col.notNull())
    .addColumn('site_id', 'text')
    .addColumn('device_id', 'text')
    .addColumn('message', 'text', (col) => col.notNull())
    .addColumn('data', 'text', (col) => col.notNull())
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('acknowledged_at', 'text')
    .addColumn('acknowledged_by', 'text')
    .execute();
  await db.schema.createIndex('events_site_id').on('events').column('site_id').execute();
  await db.schema.createIndex('events_device_id').on('events').column('device_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['events', 'agent_tokens', 'enrollment_requests', 'enrollment_codes'])
    await db.schema.dropTable(table).execute();
  await db.schema.dropIndex('devices_status_last_seen').execute();
  await db.schema.dropIndex('devices_fingerprint').execute();
  for (const column of [
    'addresses',
    'credentials_revoked_at',
    'enrolled_at',
    'metrics',
    'uptime_seconds',
    'os_version',
    'os_name',
    'fingerprint',
  ]) {
    await db.schema.alterTable('devices').dropColumn(column).execute();
  }
  await db.schema.alterTable('sites').dropColumn('auto_approve_until').execute();
}

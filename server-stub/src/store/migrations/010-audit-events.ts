/**
 * The audit log: one hash chain of entries (audit/audit-log.ts), and the chain's head, one row
 * that every append locks (FOR UPDATE on PostgreSQL) so that several instances keep one chain.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('sequence', 'bigint', (col) => col.notNull().unique())
    .addColumn('occurred_at', 'text', (col) => col.notNull())
    // No foreign keys: an entry outlives the user, token and resource it names.
    .addColumn('user_id', 'text', (col) => col.notNull())
    .addColumn('api_token_id', 'text')
    .addColumn('auth_method', 'text', (col) => col.notNull())
    .addColumn('operation', 'text', (col) => col.notNull())
    .addColumn('method', 'text', (col) => col.notNull())
    .addColumn('path', 'text', (col) => col.notNull())
    .addColumn('resource_type', 'text', (col) => col.notNull())
    .addColumn('resource', 'text')
    .addColumn('changes', 'text', (col) => col.notNull())
    .addColumn('status', 'integer', (col) => col.notNull())
    .addColumn('request_id', 'text', (col) => col.notNull())
    .addColumn('client_address', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('previous_hash', 'text', (col) => col.notNull())
    .addColumn('hash', 'text', (col) => col.notNull())
    .addColumn('hmac', 'text', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('audit_events_user').on('audit_events').columns(['user_id', 'id']).execute();
  await db.schema
    .createIndex('audit_events_resource')
    .on('audit_events')
    .columns(['resource', 'id'])
    .execute();
  await db.schema.createIndex('audit_events_occurred').on('audit_events').column('occurred_at').execute();
  await db.schema
    .createTable('audit_chain')
    .addColumn('id', 'integer', (col) => col.primaryKey())
    .addColumn('sequence', 'bigint', (col) => col.notNull())
    .addColumn('hash', 'text', (col) => col.notNull())
    .execute();
  await sql`insert into audit_chain (id, sequence, hash) values (1, 0, ${'0'.repeat(64)})`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_chain').execute();
  await db.schema.dropTable('audit_events').execute();
}

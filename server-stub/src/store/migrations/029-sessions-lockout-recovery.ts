/**
 * Sessions, lockout and password recovery (auth/sessions.ts, auth/lockout.ts,
 * auth/password-reset.ts):
 * - a session records where it was started (address, user agent), when it was last used (written
 *   at most once a minute) and whether it is remembered (a long absolute lifetime, no idle timeout);
 * - failed sign-ins per username, known or not (the key is a hash of the lowercased username, so
 *   unknown usernames are counted the same way and nothing about them is kept in clear), with the
 *   start of the current window and, once the threshold is reached, the end of the lock;
 * - a user's `locked_until`, the same lock as the API shows it;
 * - password reset tokens, stored as hashes, one-time, expiring.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').addColumn('last_used_at', 'text').execute();
  await db.schema.alterTable('sessions').addColumn('ip_address', 'text').execute();
  await db.schema.alterTable('sessions').addColumn('user_agent', 'text').execute();
  await db.schema
    .alterTable('sessions')
    .addColumn('remember_me', 'integer', (col) => col.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('users').addColumn('locked_until', 'text').execute();
  await db.schema
    .createTable('login_failures')
    .addColumn('username_hash', 'text', (col) => col.primaryKey())
    .addColumn('failures', 'integer', (col) => col.notNull())
    .addColumn('window_started_at', 'text', (col) => col.notNull())
    .addColumn('locked_until', 'text')
    .execute();
  await db.schema
    .createTable('password_reset_tokens')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('user_id', 'text', (col) => col.notNull().references('users.id').onDelete('cascade'))
    .addColumn('token_hash', 'text', (col) => col.notNull().unique())
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('expires_at', 'text', (col) => col.notNull())
    .execute();
  await db.schema
    .createIndex('password_reset_tokens_user')
    .on('password_reset_tokens')
    .column('user_id')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('password_reset_tokens').execute();
  await db.schema.dropTable('login_failures').execute();
  await db.schema.alterTable('users').dropColumn('locked_until').execute();
  for (const column of ['remember_me', 'user_agent', 'ip_address', 'last_used_at'])
    await db.schema.alterTable('sessions').dropColumn(column).execute();
}

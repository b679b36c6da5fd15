/**
 * A sign-in waiting for its second factor remembers whether it asked for `remember_me`, so the
 * session POST /v1/auth/mfa/verify (or a passkey) completes it with gets the lifetime it asked for
 * (auth/mfa-challenges.ts).
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('mfa_challenges')
    .addColumn('remember_me', 'integer', (col) => col.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('mfa_challenges').dropColumn('remember_me').execute();
}

import type { AppContext } from './context';
import { generatePassword, hashPassword } from './auth/passwords';
import { newId } from './store/ids';
import { bindingOfRole, replaceBindings } from './access/role-bindings';

export interface BootstrapAdmin {
  username: string;
  /** Set only when Meridian generated it; shown once, never stored in clear. */
  generatedPassword: string | null;
}

/**
 * A fresh database gets one admin so someone can sign in: from the given credentials, or with
 * a generated password. A database that already has users is left alone, and so is one where
 * another instance starting at the same time made the admin first (while this one hashed the
 * password): the insert then does nothing, rather than fail the start on the taken username.
 */
export async function ensureBootstrapAdmin(
  context: AppContext,
  username = 'admin',
  password?: string,
): Promise<BootstrapAdmin | null> {
  const existing = await context.db.selectFrom('users').select('id').limit(1).executeTakeFirst();
  if (existing) return null;
  const generatedPassword = password ? null : generatePassword();
  const now = context.now().toISOString();
  const id = newId('usr');
  const passwordHash = await hashPassword(password ?? generatedPassword!, context.passwordCost);
  const made = await context.db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('users')
      .values({
        id,
        username: username.toLowerCase(),
        display_name: 'Administrator',
        email: null,
        role: 'admin',
        disabled: 0,
        password_hash: passwordHash,
        created_at: now,
        updated_at: now,
        last_login_at: null,
      })
      .onConflict((conflict) => conflict.column('username').doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) return false;
    await replaceBindings(trx, id, [bindingOfRole('admin', [])]);
    return true;
  });
  return made ? { username: username.toLowerCase(), generatedPassword } : null;
}

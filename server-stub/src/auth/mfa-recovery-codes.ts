/**
 * Recovery codes: ten per user, each good for one sign-in instead of a TOTP code. 60 random bits
 * each (12 base32 characters, shown as xxxx-xxxx-xxxx), stored as SHA-256 hashes like the
 * server's other secrets (secrets.ts): the plain codes exist only in the answer that shows them.
 */
import { randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { AppContext } from '../context';
import type { Database } from '../store/schema';
import { newId } from '../store/ids';
import { hashSecret } from './secrets';

const COUNT = 10;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

function newCode(): string {
  const characters = [...randomBytes(12)].map((byte) => ALPHABET[byte % 32]).join('');
  return characters.match(/.{4}/g)!.join('-');
}

/** A code as typed (any case, hyphens or not) in the form that was hashed. */
const normalised = (code: string): string => code.toLowerCase().replaceAll('-', '').match(/.{4}/g)!.join('-');

/** Replaces the user's recovery codes with ten new ones, returned in plain text. */
export async function replaceRecoveryCodes(
  context: AppContext,
  trx: Transaction<Database>,
  userId: string,
): Promise<string[]> {
  const codes = Array.from({ length: COUNT }, newCode);
  const now = context.now().toISOString();
  await trx.deleteFrom('mfa_recovery_codes').where('user_id', '=', userId).execute();
  await trx
    .insertInto('mfa_recovery_codes')
    .values(
      codes.map((code) => ({
        id: newId('rcv'),
        user_id: userId,
        code_hash: hashSecret(code),
        created_at: now,
      })),
    )
    .execute();
  return codes;
}

/** Whether `code` is one of the user's recovery codes not used yet; if so, it is used up. */
export async function useRecoveryCode(context: AppContext, userId: string, code: string): Promise<boolean> {
  const used = await context.db
    .updateTable('mfa_recovery_codes')
    .set({ used_at: context.now().toISOString() })
    .where('user_id', '=', userId)
    .where('code_hash', '=', hashSecret(normalised(code)))
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return used.numUpdatedRows > 0n;
}

/**
 * One-time password reset tokens: made by an admin (POST /v1/users/{user_id}/password-reset-tokens)
 * or by the server's owner (`npm run admin -- reset-password`), stored as a hash, good until they
 * expire or are used (POST /v1/auth/password-reset).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema';
import { newId } from '../store/ids';
import { hashSecret, newSecret } from './secrets';

export const DEFAULT_RESET_TOKEN_MINUTES = 60;

export interface IssuedResetToken {
  id: string;
  user_id: string;
  token: string;
  created_at: string;
  expires_at: string;
}

export async function issueResetToken(
  db: Kysely<Database>,
  now: Date,
  request: { userId: string; createdBy: string | null; minutes?: number | undefined },
): Promise<IssuedResetToken> {
  const token = newSecret('mpr');
  const minutes = request.minutes ?? DEFAULT_RESET_TOKEN_MINUTES;
  const row = {
    id: newId('prt'),
    user_id: request.userId,
    token_hash: hashSecret(token),
    created_by: request.createdBy,
    created_at: now.toISOString(),
    expires_at: new Date(now.getTime() + minutes * 60_000).toISOString(),
  };
  await db.insertInto('password_reset_tokens').values(row).execute();
  return { id: row.id, user_id: row.user_id, token, created_at: row.created_at, expires_at: row.expires_at };
}

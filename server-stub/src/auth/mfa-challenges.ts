/**
 * Sign-ins waiting for their second factor. A user with MFA on whose password (or directory
 * credentials) were right gets a challenge instead of a session: a `mmc_` token that only
 * POST /v1/auth/mfa/verify (with a code) and POST /v1/auth/passkeys/authentication/verify (with the
 * user's passkey) take (authenticate.ts refuses it everywhere else), once, for five minutes and
 * five wrong factors. Only its hash is stored.
 */
import type { AppContext } from '../context';
import { ApiError, problems } from '../http/problem';
import { newId } from '../store/ids';
import type { UserRow } from '../store/schema';
import { recordFailure } from './lockout';
import { hashSecret, newSecret } from './secrets';
import type { SignInMethod } from './sign-in';

const CHALLENGE_TTL_MS = 5 * 60 * 1000;
const MAX_FAILED_ATTEMPTS = 5;

/** The answer to a sign-in that needs its second factor: a new challenge, as a 401 problem. */
export async function mfaRequired(
  context: AppContext,
  userId: string,
  method: SignInMethod,
  rememberMe: boolean,
): Promise<ApiError> {
  const token = newSecret('mmc');
  const now = context.now();
  await context.db
    .deleteFrom('mfa_challenges')
    .where('user_id', '=', userId)
    .where('expires_at', '<=', now.toISOString())
    .execute();
  const expiresAt = new Date(now.getTime() + CHALLENGE_TTL_MS).toISOString();
  await context.db
    .insertInto('mfa_challenges')
    .values({
      id: newId('mfc'),
      user_id: userId,
      token_hash: hashSecret(token),
      method,
      remember_me: rememberMe ? 1 : 0,
      created_at: now.toISOString(),
      expires_at: expiresAt,
    })
    .execute();
  return new ApiError(
    401,
    'mfa_required',
    'Authentication required',
    `${method === 'oidc' ? 'The identity provider vouched for you' : 'The password is right'}, and this account also needs a second factor: send mfa_challenge.token with a code of your authenticator app (or a recovery code) to POST /v1/auth/mfa/verify, or as mfa_challenge with your passkey to POST /v1/auth/passkeys/authentication/verify.`,
    undefined,
    {},
    { mfa_challenge: { token, expires_at: expiresAt } },
  );
}

const challengeInvalid = () =>
  problems.unauthenticated(
    'mfa_challenge_invalid',
    'The MFA challenge is unknown, used, expired or ended by too many wrong codes; sign in again.',
  );

/**
 * Completes the challenge `token` when `prove(user)` accepts the second factor: returns its user
 * (still active), how they signed in and whether they asked to be remembered, and ends the
 * challenge. A wrong factor counts against the challenge (`wrongFactor`, by default 401
 * invalid_mfa_code) and toward the user's lockout, and the last allowed one ends the challenge.
 */
export async function completeChallenge(
  context: AppContext,
  token: string,
  prove: (user: UserRow) => Promise<boolean>,
  wrongFactor: () => ApiError = () =>
    problems.unauthenticated(
      'invalid_mfa_code',
      'The code is wrong, or was used before: wait for the next one (or use a recovery code).',
    ),
): Promise<{ user: UserRow; method: SignInMethod; rememberMe: boolean }> {
  const { db } = context;
  const challenge = await db
    .selectFrom('mfa_challenges')
    .selectAll()
    .where('token_hash', '=', hashSecret(token))
    .executeTakeFirst();
  if (
    !challenge ||
    challenge.expires_at <= context.now().toISOString() ||
    challenge.failed_attempts >= MAX_FAILED_ATTEMPTS
  )
    throw challengeInvalid();
  const user = await db
    .selectFrom('users')
    .selectAll()
    .where('id', '=', challenge.user_id)
    .executeTakeFirst();
  if (!user || user.disabled || user.mfa_enabled_at === null) throw challengeInvalid();
  if (!(await prove(user))) {
    const failed = await db
      .updateTable('mfa_challenges')
      .set((eb) => ({ failed_attempts: eb('failed_attempts', '+', 1) }))
      .where('id', '=', challenge.id)
      .returning('failed_attempts')
      .executeTakeFirst();
    if (!failed || failed.failed_attempts >= MAX_FAILED_ATTEMPTS)
      await db.deleteFrom('mfa_challenges').where('id', '=', challenge.id).execute();
    // Also a failed sign-in of the user: new challenges (the password is known) do not start afresh.
    await recordFailure(context, user.username);
    throw wrongFactor();
  }
  // Whoever deletes it completes it: the same challenge completed twice at once gives one session.
  const ended = await db.deleteFrom('mfa_challenges').where('id', '=', challenge.id).executeTakeFirst();
  if (ended.numDeletedRows === 0n) throw challengeInvalid();
  return { user, method: challenge.method as SignInMethod, rememberMe: challenge.remember_me === 1 };
}

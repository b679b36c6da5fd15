import type { Request, Response } from 'express';
import { presentUser } from '../access/users-store';
import type { AppContext } from '../context';
import { forgetOperatorCredentials } from '../http/authenticate';
import type { UserRow } from '../store/schema';
import { clearFailures, refuseIfLocked } from './lockout';
import { mfaRequired } from './mfa-challenges';
import { createSession, setSessionCookies } from './sessions';

/** How the user proved who they are, before any second factor. */
export type SignInMethod = 'password' | 'passkey' | 'oidc' | 'ldap';

export interface SignIn {
  req: Request;
  res: Response;
  /** The user, already authenticated by `method` (and found not disabled). */
  user: UserRow;
  method: SignInMethod;
  /** Asked for a long session without an idle timeout (`remember_me`, auth/sessions.ts). */
  rememberMe?: boolean | undefined;
  /**
   * The sign-in itself proved a second factor (a passkey does), so a user with MFA on gets a
   * session at once instead of the `mfa_required` challenge.
   */
  mfaSatisfied?: boolean;
}

/**
 * The one way every kind of sign-in ends: a locked account refused (401 account_locked), else a
 * new session, its cookies set, the user's failed sign-ins forgotten and last sign-in recorded,
 * and the body of a successful sign-in. A user with MFA on gets no session unless the sign-in proved a second factor
 * (`mfaSatisfied`): it throws the `401 mfa_required` problem with a challenge instead, which
 * POST /v1/auth/mfa/verify completes (with `mfaSatisfied`).
 */
export async function completeSignIn(context: AppContext, signIn: SignIn) {
  const { req, res, user } = signIn;
  // However they proved who they are (a passkey, a provider, a challenge begun before the lock).
  await refuseIfLocked(context, user.username);
  if (user.mfa_enabled_at !== null && !signIn.mfaSatisfied)
    throw await mfaRequired(context, user.id, signIn.method, signIn.rememberMe === true);
  // Only now, not when a password was right but a second factor is still due: wrong codes count.
  await clearFailures(context, user.username);
  const session = await createSession(context, user.id, { req, rememberMe: signIn.rememberMe });
  const now = context.now().toISOString();
  await context.db.updateTable('users').set({ last_login_at: now }).where('id', '=', user.id).execute();
  forgetOperatorCredentials(context);
  setSessionCookies(req, res, session);
  return {
    token: session.token,
    token_type: 'bearer' as const,
    expires_at: session.expiresAt,
    csrf_token: session.csrfToken,
    user: await presentUser(context, { ...user, last_login_at: now }),
  };
}

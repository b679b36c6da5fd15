/**
 * The MFA operations: setting TOTP up and confirming it, turning it off, new recovery codes,
 * completing a sign-in's challenge, and an admin's reset of another user's MFA.
 */
import { initServer } from '@ts-rest/express';
import type { Transaction } from 'kysely';
import { findUser, presentUser } from '../access/users-store';
import type { AppContext } from '../context';
import { contract } from '../generated/contract.gen';
import { forgetOperatorCredentials } from '../http/authenticate';
import { type Principal, principalOf } from '../http/principal';
import { problems } from '../http/problem';
import type { Database } from '../store/schema';
import { requireSession } from './auth-handlers';
import { completeChallenge } from './mfa-challenges';
import { replaceRecoveryCodes, useRecoveryCode } from './mfa-recovery-codes';
import { acceptTotpCode, hasTotpSecret, startTotpSetup } from './mfa-totp';
import { verifyPassword } from './passwords';
import { completeSignIn } from './sign-in';

const invalidCode = () =>
  problems.unprocessable('invalid_mfa_code', 'The code is wrong, or was used before; wait for the next one.');

/** The caller's own MFA: a session (not an API token) of a user whose MFA is in the given state. */
function ownMfa(req: Parameters<typeof principalOf>[0], what: string, enabled: boolean): Principal {
  const principal = principalOf(req);
  requireSession(principal, what);
  if ((principal.user.mfa_enabled_at !== null) !== enabled) {
    throw enabled
      ? problems.conflict('mfa_not_enabled', 'MFA is not on for your account; set it up first.')
      : problems.conflict('mfa_already_enabled', 'MFA is already on for your account; turn it off first.');
  }
  return principal;
}

/** Deletes a user's TOTP secret, recovery codes and pending challenges: MFA off. */
async function turnMfaOff(context: AppContext, trx: Transaction<Database>, userId: string): Promise<void> {
  await trx.deleteFrom('mfa_totp').where('user_id', '=', userId).execute();
  await trx.deleteFrom('mfa_recovery_codes').where('user_id', '=', userId).execute();
  await trx.deleteFrom('mfa_challenges').where('user_id', '=', userId).execute();
  await trx
    .updateTable('users')
    .set({ mfa_enabled_at: null, updated_at: context.now().toISOString() })
    .where('id', '=', userId)
    .execute();
}

export function mfaHandlers(context: AppContext) {
  const { db } = context;

  /** The password or a current code, whichever was sent (both must be right when both are). */
  async function reauthenticate(principal: Principal, body: { password?: string; code?: string }) {
    if (body.password !== undefined && !(await verifyPassword(body.password, principal.user.password_hash)))
      throw problems.unprocessable('invalid_current_password', 'The password is incorrect.');
    if (body.code !== undefined && !(await acceptTotpCode(context, principal.user.id, body.code)))
      throw invalidCode();
  }

  return initServer().router(contract.mfa, {
    setupTotp: async ({ req }) => {
      const { user } = ownMfa(req, 'Setting up MFA', false);
      return { status: 200, body: await startTotpSetup(context, user.id, user.username) };
    },

    confirmTotp: async ({ body, req }) => {
      const { user } = ownMfa(req, 'Turning MFA on', false);
      if (!(await hasTotpSecret(context, user.id)))
        throw problems.unprocessable(
          'mfa_setup_required',
          'There is no TOTP secret waiting for its first code: start with POST /v1/auth/mfa/totp/setup.',
        );
      if (!(await acceptTotpCode(context, user.id, body.code))) throw invalidCode();
      const recoveryCodes = await db.transaction().execute(async (trx) => {
        const now = context.now().toISOString();
        await trx
          .updateTable('users')
          .set({ mfa_enabled_at: now, updated_at: now })
          .where('id', '=', user.id)
          .execute();
        return replaceRecoveryCodes(context, trx, user.id);
      });
      forgetOperatorCredentials(context);
      return { status: 200, body: { recovery_codes: recoveryCodes } };
    },

    disableTotp: async ({ body, req }) => {
      const principal = ownMfa(req, 'Turning MFA off', true);
      await reauthenticate(principal, body);
      await db.transaction().execute((trx) => turnMfaOff(context, trx, principal.user.id));
      forgetOperatorCredentials(context);
      return { status: 204, body: undefined };
    },

    regenerateRecoveryCodes: async ({ body, req }) => {
      const principal = ownMfa(req, 'Replacing recovery codes', true);
      await reauthenticate(principal, body);
      const recoveryCodes = await db
        .transaction()
        .execute((trx) => replaceRecoveryCodes(context, trx, principal.user.id));
      return { status: 200, body: { recovery_codes: recoveryCodes } };
    },

    verifyMfa: async ({ body, req, res }) => {
      const { user, method, rememberMe } = await completeChallenge(
        context,
        body.challenge_token,
        (candidate) =>
          body.code !== undefined
            ? acceptTotpCode(context, candidate.id, body.code)
            : useRecoveryCode(context, candidate.id, body.recovery_code!),
      );
      return {
        status: 200,
        body: await completeSignIn(context, { req, res, user, method, rememberMe, mfaSatisfied: true }),
      };
    },

    resetUserMfa: async ({ params }) => {
      const user = await findUser(context, params.user_id);
      await db.transaction().execute((trx) => turnMfaOff(context, trx, user.id));
      forgetOperatorCredentials(context);
      return { status: 200, body: await presentUser(context, await findUser(context, user.id)) };
    },
  });
}

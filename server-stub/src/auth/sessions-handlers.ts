/**
 * Your sessions (part of the Auth tag: list, end one, end all others), an admin's session,
 * lock and password-recovery operations on a user (part of the Users tag), and the public
 * password reset with a token.
 */
import { initServer } from '@ts-rest/express';
import { findUser, presentUser } from '../access/users-store';
import type { AppContext } from '../context';
import { contract } from '../generated/contract.gen';
import { forgetOperatorCredentials } from '../http/authenticate';
import { paginate } from '../http/pagination';
import { principalOf } from '../http/principal';
import { problems } from '../http/problem';
import type { SessionRow } from '../store/schema';
import { requireSession } from './auth-handlers';
import { clearFailures } from './lockout';
import { hashPassword } from './passwords';
import { issueResetToken } from './password-reset';
import { hashSecret } from './secrets';
import { clearSessionCookies } from './sessions';

const s = initServer();

/** Ends sessions of a user (all of them, or all but one) and forgets them on this instance. */
async function endSessions(context: AppContext, userId: string, except?: string): Promise<number> {
  const result = await context.db
    .deleteFrom('sessions')
    .where('user_id', '=', userId)
    .$if(except !== undefined, (qb) => qb.where('id', '!=', except!))
    .executeTakeFirst();
  forgetOperatorCredentials(context);
  return Number(result.numDeletedRows);
}

export function sessionRoutes(context: AppContext) {
  const { db } = context;
  const toActiveSession = (current: string | null) => (row: SessionRow) => ({
    id: row.id,
    created_at: row.created_at,
    last_used_at: row.last_used_at,
    expires_at: row.expires_at,
    ip_address: row.ip_address,
    user_agent: row.user_agent,
    remember_me: row.remember_me === 1,
    current: row.id === current,
  });

  return {
    listSessions: s.route(contract.auth.listSessions, async ({ query, req }) => {
      const principal = principalOf(req);
      const now = context.now();
      // Live sessions only: within their lifetime and, unless remembered, their idle timeout.
      const idleSince = new Date(now.getTime() - context.sessions.idleMinutes * 60_000).toISOString();
      const body = await paginate(
        query,
        db
          .selectFrom('sessions')
          .selectAll()
          .where('user_id', '=', principal.user.id)
          .where('expires_at', '>', now.toISOString())
          .where((eb) =>
            eb.or([
              eb('remember_me', '=', 1),
              eb(eb.fn.coalesce('last_used_at', 'created_at'), '>', idleSince),
            ]),
          ),
        toActiveSession(principal.sessionId),
      );
      return { status: 200, body };
    }),

    revokeSession: s.route(contract.auth.revokeSession, async ({ params, req, res }) => {
      const principal = principalOf(req);
      const result = await db
        .deleteFrom('sessions')
        .where('id', '=', params.session_id)
        .where('user_id', '=', principal.user.id)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) throw problems.notFound('session', params.session_id);
      forgetOperatorCredentials(context);
      if (params.session_id === principal.sessionId) clearSessionCookies(res);
      return { status: 204, body: undefined };
    }),

    revokeOtherSessions: s.route(contract.auth.revokeOtherSessions, async ({ req }) => {
      const principal = principalOf(req);
      const current = requireSession(principal, 'Ending your other sessions');
      return { status: 200, body: { revoked: await endSessions(context, principal.user.id, current) } };
    }),

    resetPasswordWithToken: s.route(contract.auth.resetPasswordWithToken, async ({ body }) => {
      const now = context.now().toISOString();
      const passwordHash = await hashPassword(body.new_password, context.passwordCost);
      const user = await db.transaction().execute(async (trx) => {
        // Deleted as it is used: of two requests with one token, only one finds it.
        const token = await trx
          .deleteFrom('password_reset_tokens')
          .where('token_hash', '=', hashSecret(body.token))
          .where('expires_at', '>', now)
          .returning('user_id')
          .executeTakeFirst();
        if (!token) return undefined;
        const updated = await trx
          .updateTable('users')
          .set((eb) => ({ password_hash: passwordHash, version: eb('version', '+', 1), updated_at: now }))
          .where('id', '=', token.user_id)
          .returning('username')
          .executeTakeFirstOrThrow();
        await trx.deleteFrom('password_reset_tokens').where('user_id', '=', token.user_id).execute();
        await trx.deleteFrom('sessions').where('user_id', '=', token.user_id).execute();
        return updated;
      });
      if (!user)
        throw problems.unprocessable(
          'invalid_reset_token',
          'The password reset token is unknown, already used or expired; ask an admin for a new one.',
        );
      await clearFailures(context, user.username);
      forgetOperatorCredentials(context);
      return { status: 204, body: undefined };
    }),
  };
}

export function userSessionRoutes(context: AppContext) {
  const { db } = context;
  return {
    revokeUserSessions: s.route(contract.users.revokeUserSessions, async ({ params }) => {
      const user = await findUser(context, params.user_id);
      return { status: 200, body: { revoked: await endSessions(context, user.id) } };
    }),

    unlockUser: s.route(contract.users.unlockUser, async ({ params }) => {
      const user = await findUser(context, params.user_id);
      await clearFailures(context, user.username);
      return { status: 200, body: await presentUser(context, { ...user, locked_until: null }) };
    }),

    createPasswordResetToken: s.route(
      contract.users.createPasswordResetToken,
      async ({ params, body, req, res }) => {
        const user = await findUser(context, params.user_id);
        const issued = await issueResetToken(db, context.now(), {
          userId: user.id,
          createdBy: principalOf(req).user.id,
          minutes: body.expires_in_minutes,
        });
        res.setHeader('Cache-Control', 'no-store');
        return { status: 201, body: issued };
      },
    ),
  };
}

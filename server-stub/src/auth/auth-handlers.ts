import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { contract } from '../generated/contract.gen';
import { presentUser } from '../access/users-store';
import { principalOf, type Principal } from '../http/principal';
import { problems } from '../http/problem';
import { hashPassword, needsRehash, verifyPassword } from './passwords';
import { clearSessionCookies } from './sessions';
import { accountLocked, lockedUntil, recordFailure } from './lockout';
import { sessionRoutes } from './sessions-handlers';
import { completeSignIn } from './sign-in';
import { forgetOperatorCredentials } from '../http/authenticate';

export function requireSession(principal: Principal, what: string): string {
  if (!principal.sessionId) {
    throw problems.unprocessable(
      'session_required',
      `${what} needs a session (sign in with POST /v1/auth/login); API tokens cannot do it.`,
    );
  }
  return principal.sessionId;
}

export function authHandlers(context: AppContext) {
  const { db } = context;
  // Compared against when the username is unknown, so both failures take the same time.
  const decoyHash = hashPassword('decoy-password-for-unknown-users', context.passwordCost);

  return initServer().router(contract.auth, {
    ...sessionRoutes(context),
    login: async ({ body, req, res }) => {
      const user = await db
        .selectFrom('users')
        .selectAll()
        .where('username', '=', body.username.toLowerCase())
        .executeTakeFirst();
      // Known and unknown usernames go through the same steps: the lock and the failures are
      // kept per username either way, and a password is always checked (auth/lockout.ts).
      const locked = await lockedUntil(context, body.username);
      const valid = await verifyPassword(body.password, user?.password_hash ?? (await decoyHash));
      if (locked !== null) throw accountLocked();
      if (!user || !valid || user.disabled) {
        await recordFailure(context, body.username);
        throw problems.unauthenticated('invalid_credentials', 'The username or password is incorrect.');
      }
      // A hash made with weaker parameters than configured is replaced while the password is at hand.
      if (needsRehash(user.password_hash, context.passwordCost)) {
        const passwordHash = await hashPassword(body.password, context.passwordCost);
        await db
          .updateTable('users')
          .set({ password_hash: passwordHash })
          .where('id', '=', user.id)
          .execute();
      }
      return {
        status: 200,
        body: await completeSignIn(context, {
          req,
          res,
          user,
          method: 'password',
          rememberMe: body.remember_me,
        }),
      };
    },

    logout: async ({ req, res }) => {
      const sessionId = requireSession(principalOf(req), 'Signing out');
      await db.deleteFrom('sessions').where('id', '=', sessionId).execute();
      forgetOperatorCredentials(context);
      clearSessionCookies(res);
      return { status: 204, body: undefined };
    },

    getCurrentUser: async ({ req }) => {
      const principal = principalOf(req);
      return {
        status: 200,
        body: {
          user: await presentUser(context, principal.user),
          auth_method: principal.authMethod,
          api_token_id: principal.apiTokenId,
          scopes: [...principal.scopes].sort(),
          site_ids: principal.siteIds === null ? null : [...principal.siteIds],
        },
      };
    },

    changePassword: async ({ body, req }) => {
      const principal = principalOf(req);
      const sessionId = requireSession(principal, 'Changing your password');
      if (!(await verifyPassword(body.current_password, principal.user.password_hash))) {
        throw problems.unprocessable('invalid_current_password', 'The current password is incorrect.');
      }
      const passwordHash = await hashPassword(body.new_password, context.passwordCost);
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('users')
          .set({ password_hash: passwordHash, updated_at: context.now().toISOString() })
          .where('id', '=', principal.user.id)
          .execute();
        await trx
          .deleteFrom('sessions')
          .where('user_id', '=', principal.user.id)
          .where('id', '!=', sessionId)
          .execute();
      });
      forgetOperatorCredentials(context);
      return { status: 204, body: undefined };
    },
  });
}

import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { contract } from '../generated/contract.gen';
import { generatePassword, hashPassword } from '../auth/passwords';
import { type HandlerArgs, type RouteArgs, versionedRoutes } from '../http/etag';
import { forgetOperatorCredentials } from '../http/authenticate';
import { paginate } from '../http/pagination';
import { principalOf } from '../http/principal';
import { problems } from '../http/problem';
import { whereEqual } from '../store/filters';
import { newId } from '../store/ids';
import { assertSitesExist, findUser, presentUser, presentUsers, toUser } from './users-store';

/** Admins may not lock themselves out: the server must always keep someone who can fix things. */
function refuseSelf(actorId: string, targetId: string, what: string): void {
  if (actorId === targetId)
    throw problems.unprocessable(
      'cannot_modify_self',
      `You cannot ${what} your own account; ask another admin.`,
    );
}

export function usersHandlers(context: AppContext) {
  const { db } = context;

  async function replaceSites(trx: typeof db, userId: string, siteIds: readonly string[]): Promise<void> {
    await trx.deleteFrom('user_sites').where('user_id', '=', userId).execute();
    if (siteIds.length > 0)
      await trx
        .insertInto('user_sites')
        .values(siteIds.map((site_id) => ({ user_id: userId, site_id })))
        .execute();
  }

  const user = versionedRoutes(context, {
    table: 'users',
    read: ({ params }: RouteArgs<{ user_id: string }>) => findUser(context, params.user_id),
    present: (row) => presentUser(context, row),
  });
  type UpdateArgs = HandlerArgs<typeof contract.users.updateUser>;

  return initServer().router(contract.users, {
    listUsers: async ({ query }) => {
      const page = await paginate(
        query,
        whereEqual(db.selectFrom('users').selectAll(), { role: query.role }),
        (row) => row,
      );
      return { status: 200, body: { ...page, data: await presentUsers(context, page.data) } };
    },

    createUser: async ({ body }) => {
      const username = body.username.toLowerCase();
      const siteIds = body.site_ids ?? [];
      await assertSitesExist(context, siteIds);
      if (await db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirst()) {
        throw problems.nameTaken('username_taken', 'user', username);
      }
      const now = context.now().toISOString();
      const row = {
        id: newId('usr'),
        username,
        display_name: body.display_name ?? username,
        email: body.email ?? null,
        role: body.role,
        disabled: 0,
        password_hash: await hashPassword(body.password, context.passwordCost),
        created_at: now,
        updated_at: now,
        last_login_at: null,
      };
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('users').values(row).execute();
        await replaceSites(trx, row.id, siteIds);
      });
      return { status: 201, body: toUser({ ...row, version: 1 }, [...siteIds]) };
    },

    getUser: user.get,

    updateUser: user.update(
      async ({ body, req }: UpdateArgs, current) => {
        const { site_ids: siteIds, disabled, ...fields } = body;
        if ((body.role !== undefined && body.role !== 'admin') || disabled === true)
          refuseSelf(principalOf(req).user.id, current.id, 'demote or disable');
        if (siteIds) await assertSitesExist(context, siteIds);
        return { ...fields, ...(disabled === undefined ? {} : { disabled: disabled ? 1 : 0 }) };
      },
      async (trx, { body }, current) => {
        if (body.site_ids) await replaceSites(trx, current.id, body.site_ids);
        if (body.disabled) await trx.deleteFrom('sessions').where('user_id', '=', current.id).execute();
        forgetOperatorCredentials(context);
      },
    ),

    deleteUser: async ({ params, req }) => {
      const target = await findUser(context, params.user_id);
      refuseSelf(principalOf(req).user.id, target.id, 'delete');
      // Sessions, API tokens and site assignments go with the user (ON DELETE CASCADE).
      await db.deleteFrom('users').where('id', '=', target.id).execute();
      forgetOperatorCredentials(context);
      return { status: 204, body: undefined };
    },

    resetUserPassword: async ({ params, body }) => {
      const target = await findUser(context, params.user_id);
      const temporary = body.password === undefined ? generatePassword() : null;
      const passwordHash = await hashPassword(body.password ?? temporary!, context.passwordCost);
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('users')
          .set((eb) => ({
            password_hash: passwordHash,
            version: eb('version', '+', 1),
            updated_at: context.now().toISOString(),
          }))
          .where('id', '=', target.id)
          .execute();
        await trx.deleteFrom('sessions').where('user_id', '=', target.id).execute();
      });
      forgetOperatorCredentials(context);
      return { status: 200, body: { user_id: target.id, temporary_password: temporary } };
    },
  });
}

import { initServer } from '@ts-rest/express';
import { userSessionRoutes } from '../auth/sessions-handlers';
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
import {
  bindingOfRole,
  builtInRoleFor,
  checkBindings,
  namedSites,
  replaceBindings,
  type RoleBinding,
} from './role-bindings';
import type { Role } from './roles';
import { findUser, presentUser, presentUsers } from './users-store';

/** Admins may not lock themselves out: the server must always keep someone who can fix things. */
function refuseSelf(actorId: string, targetId: string, what: string): void {
  if (actorId === targetId)
    throw problems.unprocessable(
      'cannot_modify_self',
      `You cannot ${what} your own account; ask another admin.`,
    );
}

/**
 * The bindings a request gives the user: its `role_bindings`, or one binding of the built-in
 * `role` on the `site_ids` (the fields released before bindings; one left out keeps the value
 * `current` shows), or `undefined` when an update names no role (a new user needs one).
 */
function requestedBindings(
  body: {
    role?: Role | undefined;
    site_ids?: string[] | undefined;
    role_bindings?: RoleBinding[] | undefined;
  },
  current?: { role: Role; role_bindings: RoleBinding[] },
): RoleBinding[] | undefined {
  if (body.role_bindings !== undefined) {
    if (body.role !== undefined || body.site_ids !== undefined)
      throw problems.unprocessable(
        'role_bindings_conflict',
        'Give role_bindings, or role and site_ids, not both.',
      );
    return body.role_bindings;
  }
  if (current === undefined && body.role === undefined)
    throw problems.unprocessable('role_required', 'Give the user role_bindings, or a role (and site_ids).');
  if (body.role === undefined && body.site_ids === undefined) return undefined;
  const siteIds = body.site_ids ?? namedSites(current?.role_bindings ?? []);
  return [bindingOfRole(body.role ?? current!.role, siteIds)];
}

export function usersHandlers(context: AppContext) {
  const { db } = context;
  /** The bindings an update's checks settled on, for the write that follows in its transaction. */
  const settledBindings = new WeakMap<object, RoleBinding[]>();

  const user = versionedRoutes(context, {
    table: 'users',
    read: ({ params }: RouteArgs<{ user_id: string }>) => findUser(context, params.user_id),
    present: (row) => presentUser(context, row),
  });
  type UpdateArgs = HandlerArgs<typeof contract.users.updateUser>;

  return initServer().router(contract.users, {
    ...userSessionRoutes(context),
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
      const bindings = requestedBindings(body)!;
      await checkBindings(context, bindings);
      if (await db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirst()) {
        throw problems.nameTaken('username_taken', 'user', username);
      }
      const now = context.now().toISOString();
      const row = {
        id: newId('usr'),
        username,
        display_name: body.display_name ?? username,
        email: body.email ?? null,
        role: builtInRoleFor(bindings),
        disabled: 0,
        password_hash: await hashPassword(body.password, context.passwordCost),
        created_at: now,
        updated_at: now,
        last_login_at: null,
        mfa_enabled_at: null,
        locked_until: null,
        source: 'local' as const,
        identity_provider_id: null,
        external_id: null,
      };
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('users').values(row).execute();
        await replaceBindings(trx, row.id, bindings);
      });
      return { status: 201, body: await presentUser(context, { ...row, version: 1 }) };
    },

    getUser: user.get,

    updateUser: user.update(
      async (args: UpdateArgs, current) => {
        const { site_ids, role_bindings, role, disabled, ...fields } = args.body;
        const bindings = requestedBindings(
          { site_ids, role_bindings, role },
          await presentUser(context, current),
        );
        if ((bindings && builtInRoleFor(bindings) !== 'admin') || disabled === true)
          refuseSelf(principalOf(args.req).user.id, current.id, 'demote or disable');
        if (bindings) {
          await checkBindings(context, bindings);
          settledBindings.set(args, bindings);
        }
        return {
          ...fields,
          ...(bindings ? { role: builtInRoleFor(bindings) } : {}),
          ...(disabled === undefined ? {} : { disabled: disabled ? 1 : 0 }),
        };
      },
      async (trx, args, current) => {
        const { body } = args;
        const bindings = settledBindings.get(args);
        if (bindings) await replaceBindings(trx, current.id, bindings);
        if (body.disabled) await trx.deleteFrom('sessions').where('user_id', '=', current.id).execute();
      },
      () => forgetOperatorCredentials(context),
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

import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { nowIso } from '../context';
import { contract } from '../generated/contract.gen';
import { forgetOperatorCredentials } from '../http/authenticate';
import { type HandlerArgs, type RouteArgs, setEtag, versionedRoutes } from '../http/etag';
import { paginate } from '../http/pagination';
import { problems } from '../http/problem';
import { isForeignKeyViolation } from '../store/constraints';
import { newId } from '../store/ids';
import { assertNameFree, findRole, presentRole, presentRoles, refuseBuiltIn } from './roles-store';

export function rolesHandlers(context: AppContext) {
  const { db } = context;

  const role = versionedRoutes(context, {
    table: 'roles',
    read: ({ params }: RouteArgs<{ role_id: string }>) => findRole(context, params.role_id),
    present: (row) => presentRole(context, row),
  });

  return initServer().router(contract.roles, {
    listRoles: async ({ query }) => {
      const page = await paginate(query, db.selectFrom('roles').selectAll(), (row) => row);
      return { status: 200, body: { ...page, data: await presentRoles(context, page.data) } };
    },

    createRole: async ({ body, res }) => {
      await assertNameFree(context, body.name);
      const now = nowIso(context);
      const row = {
        id: newId('rol'),
        name: body.name,
        description: body.description ?? '',
        scopes: JSON.stringify([...body.scopes].sort()),
        require_mfa: body.require_mfa ? 1 : 0,
        built_in: 0,
        created_at: now,
        updated_at: now,
      };
      await db.insertInto('roles').values(row).execute();
      setEtag(res, 1);
      return { status: 201, body: await presentRole(context, { ...row, version: 1 }) };
    },

    getRole: role.get,

    // Whoever holds the role has its new scopes from their next request (tokens included).
    updateRole: role.update(
      async ({ body }: HandlerArgs<typeof contract.roles.updateRole>, current) => {
        refuseBuiltIn(current, 'changed');
        if (body.name !== undefined) await assertNameFree(context, body.name, current.id);
        return {
          ...(body.name === undefined ? {} : { name: body.name }),
          ...(body.description === undefined ? {} : { description: body.description }),
          ...(body.scopes === undefined ? {} : { scopes: JSON.stringify([...body.scopes].sort()) }),
          ...(body.require_mfa === undefined ? {} : { require_mfa: body.require_mfa ? 1 : 0 }),
        };
      },
      undefined,
      () => forgetOperatorCredentials(context),
    ),

    deleteRole: async ({ params }) => {
      const row = await findRole(context, params.role_id);
      refuseBuiltIn(row, 'deleted');
      const holders = await db
        .selectFrom('role_bindings')
        .select((eb) => eb.fn.countAll<string | number>().as('users'))
        .where('role_id', '=', row.id)
        .executeTakeFirstOrThrow();
      const inUse = (holding: string) =>
        problems.conflict(
          'role_in_use',
          `${holding} the role ${row.name}; change their role_bindings first.`,
        );
      if (Number(holders.users) > 0) throw inUse(`${Number(holders.users)} user(s) hold`);
      // A binding written since the count (by another request, or instance) keeps the role too:
      // its foreign key refuses the delete (ON DELETE RESTRICT; on PostgreSQL the delete waits
      // for the binding's transaction first).
      await db
        .deleteFrom('roles')
        .where('id', '=', row.id)
        .execute()
        .catch((error: unknown) => {
          throw isForeignKeyViolation(error) ? inUse('A user was just given') : error;
        });
      return { status: 204, body: undefined };
    },
  });
}

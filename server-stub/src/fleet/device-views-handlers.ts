import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { nowIso } from '../context';
import { contract } from '../generated/contract.gen';
import { type HandlerArgs, type RouteArgs, setEtag, versionedRoutes } from '../http/etag';
import { paginate } from '../http/pagination';
import { principalOf } from '../http/principal';
import { whereEqual } from '../store/filters';
import { newId } from '../store/ids';
import {
  assertMayChange,
  checkViewParts,
  DEFAULT_COLUMNS,
  findVisibleView,
  selectVisibleViews,
  toDeviceView,
} from './device-views-store';

export function deviceViewsHandlers(context: AppContext) {
  const { db } = context;

  const view = versionedRoutes(context, {
    table: 'device_views',
    read: ({ params, req }: RouteArgs<{ view_id: string }>) =>
      findVisibleView(context, principalOf(req), params.view_id),
    present: toDeviceView,
  });

  return initServer().router(contract.deviceViews, {
    listDeviceViews: async ({ query, req }) => ({
      status: 200,
      body: await paginate(
        query,
        whereEqual(selectVisibleViews(context, principalOf(req)), { visibility: query.visibility }),
        toDeviceView,
      ),
    }),

    createDeviceView: async ({ body, req, res }) => {
      await checkViewParts(context, { filterId: body.filter_id, filter: body.filter, columns: body.columns });
      const now = nowIso(context);
      const row = {
        id: newId('dvw'),
        owner_id: principalOf(req).user.id,
        name: body.name,
        description: body.description ?? '',
        visibility: body.visibility ?? 'private',
        filter_id: body.filter_id ?? null,
        filter: body.filter === undefined ? null : JSON.stringify(body.filter),
        sort: body.sort ?? null,
        columns: JSON.stringify(body.columns ?? DEFAULT_COLUMNS),
        created_at: now,
        updated_at: now,
      };
      await db.insertInto('device_views').values(row).execute();
      setEtag(res, 1);
      return { status: 201, body: toDeviceView({ ...row, version: 1 }) };
    },

    getDeviceView: view.get,

    updateDeviceView: view.update(
      async ({ body, req }: HandlerArgs<typeof contract.deviceViews.updateDeviceView>, current) => {
        assertMayChange(principalOf(req), current);
        await checkViewParts(context, {
          filterId: body.filter_id,
          filter: body.filter,
          columns: body.columns,
        });
        // A view shows one filter at most: setting one clears the other.
        const filter =
          body.filter_id != null
            ? { filter_id: body.filter_id, filter: null }
            : body.filter != null
              ? { filter_id: null, filter: JSON.stringify(body.filter) }
              : {
                  ...(body.filter_id === null ? { filter_id: null } : {}),
                  ...(body.filter === null ? { filter: null } : {}),
                };
        return {
          ...(body.name === undefined ? {} : { name: body.name }),
          ...(body.description === undefined ? {} : { description: body.description }),
          ...(body.visibility === undefined ? {} : { visibility: body.visibility }),
          ...filter,
          ...(body.sort === undefined ? {} : { sort: body.sort }),
          ...(body.columns === undefined ? {} : { columns: JSON.stringify(body.columns) }),
        };
      },
    ),

    deleteDeviceView: async ({ params, req }) => {
      const principal = principalOf(req);
      assertMayChange(principal, await findVisibleView(context, principal, params.view_id));
      await db.deleteFrom('device_views').where('id', '=', params.view_id).execute();
      return { status: 204, body: undefined };
    },
  });
}

import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { nowIso } from '../context';
import { contract } from '../generated/contract.gen';
import { type HandlerArgs, type RouteArgs, setEtag, versionedRoutes } from '../http/etag';
import { paginate } from '../http/pagination';
import { problems } from '../http/problem';
import { principalOf } from '../http/principal';
import { newId } from '../store/ids';
import type { DeviceFilterRow } from '../store/schema';
import { containsText } from '../store/search';
import { deviceFilterCondition } from './device-filter-sql';
import {
  assertFilterNameFree,
  deviceFilterUsage,
  filterInUse,
  findDeviceFilter,
  selectedFilterCondition,
  toDeviceFilter,
} from './device-filters-store';
import { presentDevices, selectDevices } from './devices-store';

export function deviceFiltersHandlers(context: AppContext) {
  const { db } = context;

  const filter = versionedRoutes(context, {
    table: 'device_filters',
    read: ({ params }: RouteArgs<{ filter_id: string }>) => findDeviceFilter(context, params.filter_id),
    present: toDeviceFilter,
  });

  /** Saves a new filter (checked, its name free) and answers it as created. */
  const create = async (
    res: RouteArgs['res'],
    fields: Pick<DeviceFilterRow, 'name' | 'description' | 'expression' | 'created_by'>,
  ) => {
    await assertFilterNameFree(context, fields.name);
    const now = nowIso(context);
    const row = { id: newId('flt'), ...fields, archived_at: null, created_at: now, updated_at: now };
    await db.insertInto('device_filters').values(row).execute();
    setEtag(res, 1);
    return { status: 201 as const, body: toDeviceFilter({ ...row, version: 1 }) };
  };

  /** Archives (a time) or unarchives (null) a filter; doing it twice changes nothing. */
  const setArchived = async (filterId: string, archivedAt: string | null, res: RouteArgs['res']) => {
    const current = await findDeviceFilter(context, filterId);
    if ((current.archived_at === null) === (archivedAt === null)) {
      setEtag(res, current.version);
      return { status: 200 as const, body: toDeviceFilter(current) };
    }
    await db
      .updateTable('device_filters')
      .set((eb) => ({ archived_at: archivedAt, updated_at: nowIso(context), version: eb('version', '+', 1) }))
      .where('id', '=', filterId)
      .execute();
    const row = await findDeviceFilter(context, filterId);
    setEtag(res, row.version);
    return { status: 200 as const, body: toDeviceFilter(row) };
  };

  return initServer().router(contract.deviceFilters, {
    listDeviceFilters: async ({ query }) => {
      const select = db
        .selectFrom('device_filters')
        .selectAll()
        .where('archived_at', query.archived ? 'is not' : 'is', null)
        .$if(query.q !== undefined, (qb) => qb.where(containsText('name', query.q!)));
      return { status: 200, body: await paginate(query, select, toDeviceFilter) };
    },

    createDeviceFilter: async ({ body, req, res }) => {
      await deviceFilterCondition(context, body.expression, '/body/expression');
      return create(res, {
        name: body.name,
        description: body.description ?? '',
        expression: JSON.stringify(body.expression),
        created_by: principalOf(req).user.id,
      });
    },

    previewDeviceFilter: async ({ body, req }) => {
      const condition = await selectedFilterCondition(
        context,
        { filterId: body.filter_id, expression: body.expression },
        { filterId: '/body/filter_id', expression: '/body/expression' },
      );
      if (condition === undefined)
        throw problems.validation([{ path: '/body', message: 'Send filter_id or expression.' }]);
      const matching = selectDevices(context, principalOf(req)).where(condition);
      const [counted, page] = await Promise.all([
        matching
          .clearSelect()
          .select((eb) => eb.fn.countAll<number | string>().as('count'))
          .executeTakeFirstOrThrow(),
        paginate({ limit: body.limit ?? 50 }, matching, (row) => row),
      ]);
      const data = await presentDevices(context, page.data);
      return { status: 200, body: { count: Number(counted.count), ...page, data } };
    },

    getDeviceFilter: filter.get,

    updateDeviceFilter: filter.update(
      async ({ body, params }: HandlerArgs<typeof contract.deviceFilters.updateDeviceFilter>) => {
        if (body.name !== undefined) await assertFilterNameFree(context, body.name, params.filter_id);
        if (body.expression !== undefined)
          await deviceFilterCondition(context, body.expression, '/body/expression');
        return {
          ...(body.name === undefined ? {} : { name: body.name }),
          ...(body.description === undefined ? {} : { description: body.description }),
          ...(body.expression === undefined ? {} : { expression: JSON.stringify(body.expression) }),
        };
      },
    ),

    deleteDeviceFilter: async ({ params }) => {
      await findDeviceFilter(context, params.filter_id);
      const usage = await deviceFilterUsage(context, params.filter_id);
      if (usage.length > 0) throw filterInUse(params.filter_id, usage);
      await db.deleteFrom('device_filters').where('id', '=', params.filter_id).execute();
      return { status: 204, body: undefined };
    },

    getDeviceFilterUsage: async ({ params }) => {
      await findDeviceFilter(context, params.filter_id);
      return { status: 200, body: { data: await deviceFilterUsage(context, params.filter_id) } };
    },

    cloneDeviceFilter: async ({ body, params, req, res }) => {
      const original = await findDeviceFilter(context, params.filter_id);
      return create(res, {
        name: body.name ?? `${original.name.slice(0, 93)} (copy)`,
        description: original.description,
        expression: original.expression,
        created_by: principalOf(req).user.id,
      });
    },

    archiveDeviceFilter: ({ params, res }) => setArchived(params.filter_id, nowIso(context), res),

    unarchiveDeviceFilter: ({ params, res }) => setArchived(params.filter_id, null, res),
  });
}

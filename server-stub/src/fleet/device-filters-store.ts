import type { RawBuilder, SqlBool } from 'kysely';
import type { z } from 'zod';
import type { AppContext } from '../context';
import type { DeviceFilter, DeviceFilterUsage } from '../generated/contract.gen';
import type { SortOrder } from '../http/pagination';
import { type ApiError, problems } from '../http/problem';
import { oneOrNotFound } from '../store/found';
import type { DeviceFilterRow } from '../store/schema';
import { deviceFilterCondition, invalidFilter } from './device-filter-sql';

type DeviceFilterBody = z.infer<typeof DeviceFilter>;
type UsageItem = z.infer<typeof DeviceFilterUsage>['data'][number];

export function toDeviceFilter(row: DeviceFilterRow): DeviceFilterBody {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    expression: JSON.parse(row.expression) as DeviceFilterBody['expression'],
    archived: row.archived_at !== null,
    archived_at: row.archived_at,
    created_by: row.created_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function findDeviceFilter(context: AppContext, id: string): Promise<DeviceFilterRow> {
  return oneOrNotFound(
    context.db.selectFrom('device_filters').selectAll().where('id', '=', id),
    'device filter',
    id,
  );
}

export async function assertFilterNameFree(
  context: AppContext,
  name: string,
  exceptId?: string,
): Promise<void> {
  const taken = await context.db
    .selectFrom('device_filters')
    .select('id')
    .where('name', '=', name)
    .executeTakeFirst();
  if (taken && taken.id !== exceptId)
    throw problems.nameTaken('device_filter_name_taken', 'device filter', name);
}

/**
 * The expression of a saved filter a request names in its body or query: 422
 * `unknown_device_filter` when there is none, and 422 `device_filter_archived` when it is archived
 * and `forNewWork` (a new job or schedule may not start from an archived filter).
 */
export async function savedFilterExpression(
  context: AppContext,
  filterId: string,
  options: { forNewWork: boolean },
): Promise<unknown> {
  const row = await context.db
    .selectFrom('device_filters')
    .select(['expression', 'archived_at'])
    .where('id', '=', filterId)
    .executeTakeFirst();
  if (!row) throw problems.unprocessable('unknown_device_filter', `No device filter ${filterId} exists.`);
  if (options.forNewWork && row.archived_at !== null)
    throw problems.unprocessable(
      'device_filter_archived',
      `The device filter ${filterId} is archived; unarchive it to use it for new work.`,
    );
  return JSON.parse(row.expression) as unknown;
}

/**
 * The SQL condition of a device filter given as a saved filter's ID or an inline expression (at
 * most one; `paths` say where each was in the request). Undefined when neither is given.
 */
export async function selectedFilterCondition(
  context: AppContext,
  selection: { filterId?: string | undefined; expression?: unknown },
  paths: { filterId: string; expression: string },
): Promise<RawBuilder<SqlBool> | undefined> {
  if (selection.filterId !== undefined && selection.expression !== undefined)
    throw problems.validation([
      { path: paths.filterId, message: `Send ${paths.filterId} or ${paths.expression}, not both.` },
    ]);
  if (selection.filterId !== undefined) {
    const expression = await savedFilterExpression(context, selection.filterId, { forNewWork: false });
    return deviceFilterCondition(context, expression, paths.filterId);
  }
  if (selection.expression === undefined) return undefined;
  return deviceFilterCondition(context, selection.expression, paths.expression);
}

/** An inline filter sent as JSON text (the device list's `filter` query parameter). */
function parseFilterText(text: string, path: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw invalidFilter([{ path, message: `Not JSON: ${(error as Error).message}` }]);
  }
}

/** At most this many users of a filter are listed (DeviceFilterUsage). */
const USAGE_LIMIT = 1000;

/**
 * The device list's conditions beyond plain equality: `tag`, and the filter given by `filter_id`
 * or inline as `filter` (JSON text; see the spec for why a query parameter).
 */
export async function listFilterConditions(
  context: AppContext,
  query: { tag?: string | undefined; filter_id?: string | undefined; filter?: string | undefined },
): Promise<RawBuilder<SqlBool>[]> {
  const selected = await selectedFilterCondition(
    context,
    {
      filterId: query.filter_id,
      expression: query.filter === undefined ? undefined : parseFilterText(query.filter, '/query/filter'),
    },
    { filterId: '/query/filter_id', expression: '/query/filter' },
  );
  const tagged =
    query.tag === undefined
      ? undefined
      : await deviceFilterCondition(context, { field: 'tags', op: 'has', value: query.tag }, '/query/tag');
  return [selected, tagged].filter((condition) => condition !== undefined);
}

/**
 * The device list's `sort` (`name`, `-last_seen_at`, …) as the order paginate applies. The last
 * seen time sorts by `last_seen_key`, a generated column that is `last_seen_at` or '' (migration
 * 023: indexed with the ID, so a page deep in the list is found as fast as the first).
 */
export function deviceSort(sort: string): SortOrder {
  const column = sort.replace(/^-/, '');
  return {
    name: sort,
    column: column === 'last_seen_at' ? 'last_seen_key' : column,
    direction: sort.startsWith('-') ? 'desc' : 'asc',
  };
}

/**
 * What targets a filter by its ID, one query per kind. Jobs and schedules name their filter in
 * their own tables, alert rules in their scope's JSON; a kind is added here with its query.
 */
const USAGE: Partial<
  Record<
    UsageItem['kind'],
    (context: AppContext, filterId: string) => Promise<{ id: string; name: string }[]>
  >
> = {
  alert_rule: async (context, filterId) =>
    (
      await context.db
        .selectFrom('alert_rules')
        .select(['id', 'name', 'scope'])
        .where('scope', 'like', `%${JSON.stringify({ filter_id: filterId }).slice(1, -1)}%`)
        .limit(USAGE_LIMIT)
        .execute()
    )
      .filter((rule) => (JSON.parse(rule.scope) as { filter_id?: string }).filter_id === filterId)
      .map(({ id, name }) => ({ id, name })),
  device_view: (context, filterId) =>
    context.db
      .selectFrom('device_views')
      .select(['id', 'name'])
      .where('filter_id', '=', filterId)
      .limit(USAGE_LIMIT)
      .execute(),
  job: (context, filterId) =>
    context.db
      .selectFrom('jobs')
      .select(['id', 'name'])
      .where('filter_id', '=', filterId)
      .limit(USAGE_LIMIT)
      .execute(),
  schedule: (context, filterId) =>
    context.db
      .selectFrom('schedules')
      .select(['id', 'name'])
      .where('filter_id', '=', filterId)
      .limit(USAGE_LIMIT)
      .execute(),
};

export async function deviceFilterUsage(context: AppContext, filterId: string): Promise<UsageItem[]> {
  const kinds = Object.entries(USAGE) as [
    UsageItem['kind'],
    NonNullable<(typeof USAGE)[UsageItem['kind']]>,
  ][];
  const found = await Promise.all(
    kinds.map(async ([kind, users]) =>
      (await users(context, filterId)).map((user) => ({ kind, id: user.id, name: user.name }) as UsageItem),
    ),
  );
  return found
    .flat()
    .sort((a, b) => a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id))
    .slice(0, USAGE_LIMIT);
}

export function filterInUse(filterId: string, usage: UsageItem[]): ApiError {
  return problems.conflict(
    'device_filter_in_use',
    `The device filter ${filterId} is used by ${usage.map((item) => `${item.kind} ${item.id}`).join(', ')}; archive it instead, or change those first.`,
  );
}

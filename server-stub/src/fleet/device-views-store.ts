/**
 * Saved device views: who sees them (shared ones, one's own private ones; admins every one),
 * who may change them (the owner or an admin), and the checks of what they name.
 */
import type { z } from 'zod';
import type { AppContext } from '../context';
import type { DeviceView } from '../generated/contract.gen';
import type { Principal } from '../http/principal';
import { problems } from '../http/problem';
import { oneOrNotFound } from '../store/found';
import type { DeviceViewRow } from '../store/schema';
import { selectedFilterCondition } from './device-filters-store';

type DeviceViewBody = z.infer<typeof DeviceView>;

const CUSTOM = 'custom.';

export const DEFAULT_COLUMNS: DeviceViewBody['columns'] = ['name', 'status', 'site_id', 'last_seen_at'];

export function toDeviceView(row: DeviceViewRow): DeviceViewBody {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    visibility: row.visibility,
    owner_id: row.owner_id,
    filter_id: row.filter_id,
    filter: row.filter === null ? null : (JSON.parse(row.filter) as DeviceViewBody['filter']),
    sort: row.sort as DeviceViewBody['sort'],
    columns: JSON.parse(row.columns) as DeviceViewBody['columns'],
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** The views the principal may see: shared ones and their own; admins see every view. */
export function selectVisibleViews(context: AppContext, principal: Principal) {
  return context.db
    .selectFrom('device_views')
    .selectAll()
    .$if(principal.role !== 'admin', (qb) =>
      qb.where((eb) => eb.or([eb('visibility', '=', 'shared'), eb('owner_id', '=', principal.user.id)])),
    );
}

export function findVisibleView(
  context: AppContext,
  principal: Principal,
  id: string,
): Promise<DeviceViewRow> {
  return oneOrNotFound(selectVisibleViews(context, principal).where('id', '=', id), 'device view', id);
}

/** Only a view's owner or an admin changes or deletes it. */
export function assertMayChange(principal: Principal, view: DeviceViewRow): void {
  if (principal.role !== 'admin' && view.owner_id !== principal.user.id)
    throw problems.forbidden(
      'device_view_not_owner',
      `The device view ${view.id} belongs to someone else; only its owner or an admin may change it.`,
    );
}

/**
 * Checks what a view names: its filter (a saved one that exists, or a valid inline one; not
 * both) and the custom fields of its columns.
 */
export async function checkViewParts(
  context: AppContext,
  parts: { filterId?: string | null | undefined; filter?: unknown; columns?: readonly string[] | undefined },
): Promise<void> {
  await selectedFilterCondition(
    context,
    { filterId: parts.filterId ?? undefined, expression: parts.filter ?? undefined },
    { filterId: '/body/filter_id', expression: '/body/filter' },
  );
  const keys = (parts.columns ?? [])
    .filter((column) => column.startsWith(CUSTOM))
    .map((column) => column.slice(CUSTOM.length));
  if (keys.length === 0) return;
  const known = new Set(
    (await context.db.selectFrom('custom_fields').select('key').where('key', 'in', keys).execute()).map(
      (row) => row.key,
    ),
  );
  const unknown = keys.filter((key) => !known.has(key));
  if (unknown.length > 0)
    throw problems.unprocessable(
      'unknown_custom_field',
      `No custom field has the key ${unknown.join(', ')}; see GET /v1/custom-fields.`,
      unknown.map((key) => ({
        path: `/body/columns/${parts.columns!.indexOf(`${CUSTOM}${key}`)}`,
        message: 'unknown custom field',
      })),
    );
}

import type { z } from 'zod';
import type { AppContext } from '../context';
import type { Device, Inventory } from '../generated/contract.gen';
import { visibleSiteIds, type Principal } from '../http/principal';
import type { DeviceInventoriesTable, DeviceRow } from '../store/schema';
import { oneOrNotFound } from '../store/found';
import { customFieldsOf } from './custom-fields-store';

export type DeviceBody = z.infer<typeof Device>;

function toDevice(row: DeviceRow, customFields: DeviceBody['custom_fields']): DeviceBody {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    site_id: row.site_id,
    platform: row.platform,
    device_type: row.device_type,
    status: row.status,
    hostname: row.hostname,
    tags: JSON.parse(row.tags) as string[],
    agent_version: row.agent_version,
    os_name: row.os_name,
    os_version: row.os_version,
    timezone: row.timezone,
    addresses: JSON.parse(row.addresses) as string[],
    uptime_seconds: row.uptime_seconds === null ? null : Number(row.uptime_seconds),
    metrics: row.metrics === null ? null : (JSON.parse(row.metrics) as DeviceBody['metrics']),
    last_seen_at: row.last_seen_at,
    enrolled_at: row.enrolled_at,
    credentials_revoked_at: row.credentials_revoked_at,
    custom_fields: customFields,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** Devices as the API shows them, custom field values included (one query for all of them). */
export async function presentDevices(context: AppContext, rows: readonly DeviceRow[]): Promise<DeviceBody[]> {
  const customFields = await customFieldsOf(
    context,
    rows.map((row) => row.id),
  );
  return rows.map((row) => toDevice(row, customFields.get(row.id)!));
}

export async function presentDevice(context: AppContext, row: DeviceRow): Promise<DeviceBody> {
  const [device] = await presentDevices(context, [row]);
  return device!;
}

/** Devices on the principal's sites only. */
export function selectDevices(context: AppContext, principal: Principal) {
  const siteIds = visibleSiteIds(principal);
  return context.db
    .selectFrom('devices')
    .selectAll()
    .$if(siteIds !== null, (qb) => qb.where('site_id', 'in', siteIds!));
}

export async function findVisibleDevice(
  context: AppContext,
  principal: Principal,
  id: string,
): Promise<DeviceRow> {
  return oneOrNotFound(selectDevices(context, principal).where('id', '=', id), 'device', id);
}

type InventoryBody = z.infer<typeof Inventory>;

export function toInventory(row: DeviceInventoriesTable): InventoryBody {
  return {
    device_id: row.device_id,
    reported_at: row.reported_at,
    hardware: JSON.parse(row.hardware) as InventoryBody['hardware'],
    software: JSON.parse(row.software) as InventoryBody['software'],
    services: JSON.parse(row.services) as InventoryBody['services'],
  };
}

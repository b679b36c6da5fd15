import { type RawBuilder, sql } from 'kysely';
import type { z } from 'zod';
import type { AppContext } from '../context';
import type { Device, Inventory } from '../generated/contract.gen';
import { visibleSiteIds, type Principal } from '../http/principal';
import type { DeviceInventoriesTable, DeviceRow } from '../store/schema';
import { oneOrNotFound } from '../store/found';
import { containsText } from '../store/search';
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
    channel: row.channel,
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

/** Below this many devices matching a search text, SQLite reads them from the index (see below). */
const INDEXED_MATCHES_MAX = 2000;

/**
 * Devices whose name or hostname contains `text`, ignoring case (the device list's `q`).
 *
 * PostgreSQL runs it as LIKE on `lower(…)`, which the pg_trgm indexes of migration 023 serve (the
 * planner weighs them against reading the list in order). SQLite has no such planner, so this
 * chooses: text of three characters or more is looked up in the `devices_search` FTS5 trigram
 * index (023) as one phrase, every character literal (a phrase of trigrams is a substring, case
 * folded), when it matches fewer than INDEXED_MATCHES_MAX devices (counting stops there, so the
 * count is cheap); text that many devices contain is matched by LIKE on the list read in order,
 * which fills a page after a few rows instead of fetching and sorting every match. LIKE folds
 * ASCII only, as FTS5 folds all of Unicode, so text with other characters always takes the index;
 * text under three characters has no trigram and always takes LIKE.
 */
export async function deviceTextCondition(context: AppContext, text: string): Promise<RawBuilder<boolean>> {
  const like = sql<boolean>`(${containsText('name', text)} or ${containsText('hostname', text)})`;
  if (context.engine === 'postgres' || [...text].length < 3) return like;
  const phrase = `"${text.replaceAll('"', '""')}"`;
  if (/^[\x20-\x7e]*$/.test(text)) {
    const counted = sql<{ matches: number }>`select count(*) as matches from (select rowid
      from devices_search where devices_search match ${phrase} limit ${INDEXED_MATCHES_MAX})`;
    const { rows } = await counted.execute(context.db);
    if (rows[0]!.matches >= INDEXED_MATCHES_MAX) return like;
  }
  return sql<boolean>`devices.rowid in (select rowid from devices_search where devices_search match ${phrase})`;
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

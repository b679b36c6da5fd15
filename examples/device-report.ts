/**
 * A fleet report: pages through every device you can see (cursor pagination, 100 at a time)
 * and prints the count per site and status. Optional filters: --platform=linux --q=kiosk.
 * --by=<key> counts by a custom field's value instead of the status (devices without one: "none").
 *
 *   MERIDIAN_TOKEN=mtk_… npx tsx examples/device-report.ts --platform=windows --by=environment
 */
import type { ListDevicesData } from '@meridian/sdk';
import { connect, orExit } from './lib/connect';

const filters: ListDevicesData['query'] = {};
let by: string | undefined;
for (const arg of process.argv.slice(2)) {
  const [, key, value] = /^--(platform|q|status|by)=(.+)$/.exec(arg) ?? [];
  if (!key || !value) {
    console.error(`unknown argument ${arg}; use --platform=, --status=, --q= or --by=`);
    process.exit(2);
  }
  if (key === 'by') by = value;
  else Object.assign(filters, { [key]: value });
}

const meridian = await connect();
if (by !== undefined) {
  const fields = await orExit(
    meridian.customFields.list({ limit: 100 }).toArray({ limit: Infinity }),
    'Listing custom fields',
  );
  if (!fields.some((field) => field.key === by)) {
    console.error(`no custom field has the key ${by}; there are: ${fields.map((f) => f.key).join(', ')}`);
    process.exit(2);
  }
}
// Every page, 100 devices at a time: the client follows next_cursor.
const devices = await orExit(
  meridian.devices.list({ ...filters, limit: 100 }).toArray({ limit: Infinity }),
  'Listing devices',
);
const sites = await orExit(meridian.sites.list({ limit: 100 }).toArray({ limit: Infinity }), 'Listing sites');
const siteNames = new Map(sites.map((site) => [site.id, site.name]));
const counts = new Map<string, Map<string, number>>();
for (const device of devices) {
  const site = siteNames.get(device.site_id) ?? device.site_id;
  const bySite = counts.get(site) ?? new Map<string, number>();
  const group = by === undefined ? device.status : String(device.custom_fields[by] ?? 'none');
  bySite.set(group, (bySite.get(group) ?? 0) + 1);
  counts.set(site, bySite);
}

console.log(`${devices.length} device(s)`);
for (const [site, byStatus] of [...counts].sort(([a], [b]) => a.localeCompare(b))) {
  console.log(`  ${site}: ${[...byStatus].map(([status, n]) => `${n} ${status}`).join(', ')}`);
}

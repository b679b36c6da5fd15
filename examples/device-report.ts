/**
 * A fleet report: pages through every device you can see (cursor pagination, 100 at a time)
 * and prints the count per site and status. Optional filters: --platform=linux --q=kiosk.
 *
 *   MERIDIAN_TOKEN=mtk_… npx tsx examples/device-report.ts --platform=windows
 */
import { listDevices, listSites, type Device, type DeviceList, type ListDevicesData } from '@meridian/sdk';
import { connect, orExit } from './lib/connect';

const filters: ListDevicesData['query'] = {};
for (const arg of process.argv.slice(2)) {
  const [, key, value] = /^--(platform|q|status)=(.+)$/.exec(arg) ?? [];
  if (!key || !value) {
    console.error(`unknown argument ${arg}; use --platform=, --status= or --q=`);
    process.exit(2);
  }
  Object.assign(filters, { [key]: value });
}

const client = await connect();
const devices: Device[] = [];
let cursor: string | null = null;
do {
  const page: DeviceList = orExit(
    await listDevices({ client, query: { ...filters, limit: 100, ...(cursor ? { cursor } : {}) } }),
    'Listing devices',
  );
  devices.push(...page.data);
  cursor = page.next_cursor;
} while (cursor);

const siteNames = new Map(
  orExit(await listSites({ client, query: { limit: 500 } }), 'Listing sites').data.map((site) => [
    site.id,
    site.name,
  ]),
);
const counts = new Map<string, Map<string, number>>();
for (const device of devices) {
  const site = siteNames.get(device.site_id) ?? device.site_id;
  const bySite = counts.get(site) ?? new Map<string, number>();
  bySite.set(device.status, (bySite.get(device.status) ?? 0) + 1);
  counts.set(site, bySite);
}

console.log(`${devices.length} device(s)`);
for (const [site, byStatus] of [...counts].sort(([a], [b]) => a.localeCompare(b))) {
  console.log(`  ${site}: ${[...byStatus].map(([status, n]) => `${n} ${status}`).join(', ')}`);
}

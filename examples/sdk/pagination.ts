/**
 * Three ways through a list: every item with for await, page by page, and into an array
 * with a limit.
 *
 *   MERIDIAN_TOKEN=mtk_… npx tsx examples/sdk/pagination.ts
 */
import Meridian from '@meridian/sdk';

const meridian = new Meridian({
  baseUrl: process.env.MERIDIAN_URL ?? 'http://localhost:8080',
  token: process.env.MERIDIAN_TOKEN,
});
// readme:start
// Every item of every page; the next page is only fetched when the loop gets there.
const byStatus = new Map<string, number>();
for await (const device of meridian.devices.list({ limit: 100 })) {
  byStatus.set(device.status, (byStatus.get(device.status) ?? 0) + 1);
}
console.log(`devices: ${[...byStatus].map(([status, n]) => `${n} ${status}`).join(', ')}`);

// Page by page (2 sites a page here, to show a few of them):
let page = await meridian.sites.list({ limit: 2 });
for (let n = 1; ; n++) {
  console.log(`page ${n}: ${page.data.map((site) => site.name).join(', ')}`);
  if (!page.hasNextPage()) break;
  page = await page.nextPage();
}

// Into an array. The limit is required, so a large fleet cannot fill memory by accident.
const pending = await meridian.devices.list({ status: 'pending' }).toArray({ limit: 500 });
console.log(`${pending.length} pending, the oldest: ${pending[0]?.name ?? 'none'}`);
// readme:end

/**
 * Onboards a site and its first device so that the script can be run again (or after a crash)
 * without creating anything twice: the server replays the first answers to the same keys.
 *
 *   MERIDIAN_TOKEN=mtk_… npx tsx examples/sdk/idempotency.ts
 */
import Meridian from '@meridian/sdk';

const meridian = new Meridian({
  baseUrl: process.env.MERIDIAN_URL ?? 'http://localhost:8080',
  token: process.env.MERIDIAN_TOKEN,
});
// readme:start
const { data: site, response } = await meridian.sites
  .create({ name: 'Braga warehouse' }, { idempotencyKey: 'onboard-braga' })
  .withResponse();
const { device } = await meridian.devices.register(
  { name: 'Dock scanner', site_id: site.id, platform: 'linux' },
  { idempotencyKey: 'onboard-braga/dock-scanner' },
);
const replayed = response.headers.get('idempotent-replayed') === 'true';
console.log(`${site.name} (${site.id}) with ${device.name} (${device.id})${replayed ? ', replayed' : ''}`);
// readme:end

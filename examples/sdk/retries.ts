/**
 * Retries, and why they are safe: the first answer is lost on the way back (simulated below),
 * the client retries with the same Idempotency-Key, and the server replays its first answer
 * instead of registering the device twice.
 *
 *   MERIDIAN_TOKEN=mtk_… npx tsx examples/sdk/retries.ts site_01JC0A1B2C3D4E5F6G7H8J9K0M
 */
const [siteId] = process.argv.slice(2);
if (!siteId) {
  console.error('usage: retries.ts <site id>');
  process.exit(2);
}
// The simulation: the first POST reaches the server and is carried out, but its answer never
// arrives, as when a connection drops. (The client uses the global fetch unless given one.)
const realFetch = globalThis.fetch;
let dropped = false;
globalThis.fetch = async (input, init) => {
  const response = await realFetch(input, init);
  const method = input instanceof Request ? input.method : (init?.method ?? 'GET');
  if (!dropped && method === 'POST') {
    dropped = true;
    await response.body?.cancel();
    throw new TypeError('fetch failed: connection reset (simulated)');
  }
  return response;
};
// readme:start
import Meridian from '@meridian/sdk';

const meridian = new Meridian({
  baseUrl: process.env.MERIDIAN_URL ?? 'http://localhost:8080',
  token: process.env.MERIDIAN_TOKEN,
  maxRetries: 4, // default 2; 0 turns retries off
  logLevel: 'info', // log each retry
});

// The Idempotency-Key generated for this call goes with every retry of it: no duplicate device.
const { data, response } = await meridian.devices
  .register({ name: 'Lobby kiosk', site_id: siteId, platform: 'windows' })
  .withResponse();
console.log(
  `registered ${data.device.name} (${data.device.id}), replayed: ${response.headers.get('idempotent-replayed') === 'true'}`,
);

// Per call: this one fails at once instead of retrying.
const health = await meridian.meta.getHealth({ maxRetries: 0 });
console.log(`server: ${health.status}`);
// readme:end

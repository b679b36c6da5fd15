/**
 * Renames a device safely: reads it with its ETag and sends that back as If-Match, so the
 * update fails (412) instead of overwriting a change someone made in between.
 *
 *   MERIDIAN_TOKEN=mtk_… npx tsx examples/sdk/update-with-etag.ts dev_01JD2M7T4X9K3QH5W8N6R2B4CZ "Lobby kiosk 2"
 */
import Meridian from '@meridian/sdk';

const [deviceId, newName] = process.argv.slice(2);
if (!deviceId || !newName) {
  console.error('usage: update-with-etag.ts <device id> <new name>');
  process.exit(2);
}
const meridian = new Meridian({
  baseUrl: process.env.MERIDIAN_URL ?? 'http://localhost:8080',
  token: process.env.MERIDIAN_TOKEN,
});
// readme:start
const { data: device, response } = await meridian.devices.get(deviceId).withResponse();

const renamed = await meridian.devices.update(
  deviceId,
  { name: newName },
  {
    ifMatch: response.headers.get('etag')!, // PreconditionFailedError (412) if it changed since we read it
    timeout: 10_000, // this call only; the client's default is 60 s
    headers: { 'X-Change-Reason': 'asset audit' },
  },
);
console.log(`${device.name} is now ${renamed.name}`);
// readme:end

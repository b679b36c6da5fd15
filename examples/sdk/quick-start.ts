/**
 * The first call: who am I, and which devices are there. Reads only.
 *
 *   MERIDIAN_URL=http://localhost:8080 MERIDIAN_TOKEN=mtk_… npx tsx examples/sdk/quick-start.ts
 */
// readme:start
import Meridian from '@meridian/sdk';

const meridian = new Meridian({
  baseUrl: process.env.MERIDIAN_URL ?? 'http://localhost:8080',
  token: process.env.MERIDIAN_TOKEN,
});

const me = await meridian.auth.getCurrentUser();
console.log(`Signed in as ${me.user.username}.`);

for await (const device of meridian.devices.list({ limit: 100 })) {
  console.log(`${device.name} (${device.platform}): ${device.status}`);
}
// readme:end

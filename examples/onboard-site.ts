/**
 * Onboard a site: create it (safe to re-run: the Idempotency-Key makes a retry return the same
 * site), pre-register its machines, and print each machine's one-time registration token for
 * the installer.
 *
 *   MERIDIAN_TOKEN=mtk_… npx tsx examples/onboard-site.ts "Lisbon office" kiosk-1:windows kiosk-2:linux
 */
import { createHash } from 'node:crypto';
import { createSite, listSites, registerDevice, type Platform } from '@meridian/sdk';
import { connect, orExit } from './lib/connect';

const [siteName, ...machines] = process.argv.slice(2);
if (!siteName || machines.length === 0) {
  console.error('usage: onboard-site.ts <site name> <machine>:<windows|macos|linux|other> ...');
  process.exit(2);
}

const client = await connect();
const existing = orExit(
  await listSites({ client, query: { q: siteName, limit: 500 } }),
  'Listing sites',
).data.find((site) => site.name === siteName);
const site =
  existing ??
  orExit(
    await createSite({
      client,
      body: { name: siteName },
      headers: { 'Idempotency-Key': createHash('sha256').update(`site:${siteName}`).digest('hex') },
    }),
    `Creating site ${siteName}`,
  );
console.log(`site ${site.name} (${site.id})`);

for (const machine of machines) {
  const [name, platform = 'other'] = machine.split(':');
  const registration = orExit(
    await registerDevice({ client, body: { name: name!, site_id: site.id, platform: platform as Platform } }),
    `Registering ${name}`,
  );
  console.log(
    `  ${registration.device.name.padEnd(20)} ${registration.device.id}  token ${registration.registration_token}  (until ${registration.registration_expires_at})`,
  );
}

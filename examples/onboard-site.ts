/**
 * Onboard a site: create it (safe to re-run: the Idempotency-Key makes a retry return the same
 * site), pre-register its machines, and print each machine's one-time registration token for
 * the installer.
 *
 *   MERIDIAN_TOKEN=mtk_… npx tsx examples/onboard-site.ts "Lisbon office" kiosk-1:windows kiosk-2:linux
 */
import { createHash } from 'node:crypto';
import type { Platform } from '@meridian/sdk';
import { connect, orExit } from './lib/connect';

const [siteName, ...machines] = process.argv.slice(2);
if (!siteName || machines.length === 0) {
  console.error('usage: onboard-site.ts <site name> <machine>:<windows|macos|linux|other> ...');
  process.exit(2);
}

const meridian = await connect();
const sameName = await orExit(
  meridian.sites.list({ q: siteName, limit: 100 }).toArray({ limit: Infinity }),
  'Listing sites',
);
const site =
  sameName.find((candidate) => candidate.name === siteName) ??
  (await orExit(
    // The key is derived from the name, so a re-run after a lost answer replays the first creation.
    meridian.sites.create(
      { name: siteName },
      { idempotencyKey: createHash('sha256').update(`site:${siteName}`).digest('hex') },
    ),
    `Creating site ${siteName}`,
  ));
console.log(`site ${site.name} (${site.id})`);

for (const machine of machines) {
  const [name, platform = 'other'] = machine.split(':');
  const registration = await orExit(
    meridian.devices.register({ name: name!, site_id: site.id, platform: platform as Platform }),
    `Registering ${name}`,
  );
  console.log(
    `  ${registration.device.name.padEnd(20)} ${registration.device.id}  token ${registration.registration_token}  (until ${registration.registration_expires_at})`,
  );
}

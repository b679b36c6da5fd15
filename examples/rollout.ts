/**
 * Roll a new agent build out to a site in batches and follow it to the end: the build is uploaded
 * as a release of that version (stable channel), the rollout starts with batches of a percentage
 * of the site's devices and pauses itself at the first failure; each change of its counts is
 * printed until it completes (exit 0), or pauses or is cancelled (exit 1, with the failed devices
 * and why). Rolling back is the same with the older version's release.
 *
 *   MERIDIAN_TOKEN=mtk_… npx tsx examples/rollout.ts <version> <platform> <file> <site_id> [batch_percent]
 */
import { openAsBlob } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentPlatform } from '@meridian/sdk';
import { connect, orExit } from './lib/connect';

const [version, platform, file, siteId, percent = '25'] = process.argv.slice(2);
if (!version || !platform || !file || !siteId) {
  console.error('usage: rollout.ts <version> <platform, e.g. linux-amd64> <file> <site_id> [batch_percent]');
  process.exit(2);
}

const meridian = await connect();
const release = await orExit(
  meridian.agentReleases.create({ version, channel: 'stable', notes: `Built from ${file}.` }),
  `Creating release ${version}`,
);
// The server computes the SHA-256 of what arrives; agents check their download against it.
await orExit(
  meridian.agentReleases.addArtifact(release.id, await openAsBlob(file), {
    platform: platform as AgentPlatform,
  }),
  `Uploading the ${platform} build`,
);
let rollout = await orExit(
  meridian.rollouts.create({
    name: `${version} to ${siteId}`,
    release_id: release.id,
    target: { site_ids: [siteId] },
    batch_percent: Number(percent),
    failure_threshold: 1,
  }),
  'Starting the rollout',
);
console.log(`rollout ${rollout.id}: ${version} in ${rollout.batch_count} batches of ${rollout.batch_size}`);

let last = '';
for (;;) {
  const { counts } = rollout;
  const line = `batch ${rollout.current_batch}/${rollout.batch_count}: ${counts.succeeded} updated, ${counts.updating} updating, ${counts.pending} waiting, ${counts.failed} failed, ${counts.skipped} skipped`;
  if (line !== last) console.log(line);
  last = line;
  if (rollout.status !== 'running') break;
  await sleep(1000);
  rollout = await orExit(meridian.rollouts.get(rollout.id), 'Following the rollout');
}
console.log(`rollout ${rollout.status}${rollout.pause_reason ? ` (${rollout.pause_reason})` : ''}`);
if (rollout.status !== 'completed') {
  for await (const device of meridian.rollouts.listDevices(rollout.id, { state: 'failed' }))
    console.log(`  ${device.device_id} failed: ${device.error}`);
  process.exit(1);
}

/**
 * Publish an agent build: create the release (or reuse the one with that version) and upload the
 * file for its platform. The file is hashed and sent as it is read from disk, never held whole in
 * memory, so builds of hundreds of megabytes need no more memory than small ones; the SHA-256 goes
 * along, so the server refuses a file damaged on the way (422 sha256_mismatch) and keeps nothing.
 *
 *   MERIDIAN_TOKEN=mtk_… npx tsx examples/upload-agent-release.ts 1.5.0 linux-amd64 ./dist/meridian-agent [beta]
 */
import { createHash } from 'node:crypto';
import { createReadStream, openAsBlob } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { type AgentPlatform, ConflictError } from '@meridian/sdk';
import { connect, orExit } from './lib/connect';

const [version, platform, file, channel = 'stable'] = process.argv.slice(2);
if (!version || !platform || !file) {
  console.error('usage: upload-agent-release.ts <version> <platform, e.g. linux-amd64> <file> [channel]');
  process.exit(2);
}

const hash = createHash('sha256');
await pipeline(createReadStream(file), hash);
const sha256 = hash.digest('hex');

const meridian = await connect();
const release = await orExit(
  meridian.agentReleases.create({ version, channel, notes: '' }).catch(async (error: unknown) => {
    if (!(error instanceof ConflictError)) throw error;
    // release_version_taken: add the build to the existing release.
    const releases = await meridian.agentReleases.list({ limit: 500 }).toArray({ limit: Infinity });
    const existing = releases.find((candidate) => candidate.version === version);
    if (!existing) throw error;
    return existing;
  }),
  `Creating release ${version}`,
);
// openAsBlob reads the file as it is sent; a stream (createReadStream) would do as well.
const artifact = await orExit(
  meridian.agentReleases.addArtifact(release.id, await openAsBlob(file), {
    platform: platform as AgentPlatform,
    sha256,
  }),
  `Uploading the ${platform} build`,
);
console.log(
  `release ${release.version} (${release.id}, ${release.channel}): ${artifact.platform} ${artifact.file_name}, ${artifact.size_bytes} bytes, sha256 ${artifact.sha256}`,
);

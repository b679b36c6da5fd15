/**
 * The child process of test/large-artifacts.test.ts, so that its memory figure is the SDK's
 * alone: through the `Meridian` client it uploads FILE as two builds of RELEASE_ID (a file Blob
 * from `fs.openAsBlob`, and a Node.js read stream), downloads one back through a SHA-256 as a
 * stream, and prints one JSON line with what it saw and its peak RSS growth (sampled every 5 ms
 * from a baseline taken once the client is loaded and has made a call).
 */
import { createHash } from 'node:crypto';
import { createReadStream, openAsBlob } from 'node:fs';
import Meridian from '@meridian/sdk';

const need = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`large-transfer: set ${name}`);
  return value;
};
const releaseId = need('RELEASE_ID');
const file = need('FILE');
const sha256 = need('SHA256');
// Sending 200 MB is one attempt: the default 60 s would be enough here, but not on a slow link.
const meridian = new Meridian({
  baseUrl: need('MERIDIAN_URL'),
  token: need('MERIDIAN_TOKEN'),
  timeout: 600_000,
});

await meridian.agentReleases.get(releaseId);
(globalThis as { gc?: () => void }).gc?.();
const baseline = process.memoryUsage.rss();
let peak = baseline;
const sample = (): void => {
  peak = Math.max(peak, process.memoryUsage.rss());
};
const sampler = setInterval(sample, 5);

const fromBlob = await meridian.agentReleases.addArtifact(releaseId, await openAsBlob(file), {
  platform: 'linux-amd64',
  sha256,
});
const fromStream = await meridian.agentReleases.addArtifact(releaseId, createReadStream(file), {
  platform: 'linux-arm64',
  sha256,
});
const response = await meridian.agentReleases.downloadArtifact(releaseId, 'linux-arm64');
const hash = createHash('sha256');
let bytes = 0;
for await (const chunk of response.body!) {
  hash.update(chunk);
  bytes += chunk.byteLength;
}
sample();
clearInterval(sampler);

console.log(
  JSON.stringify({
    uploads: [fromBlob, fromStream].map(({ platform, sha256, size_bytes }) => ({
      platform,
      sha256,
      size_bytes,
    })),
    download: {
      status: response.status,
      etag: response.headers.get('etag'),
      sha256: hash.digest('hex'),
      bytes,
    },
    peak_growth_bytes: peak - baseline,
  }),
);

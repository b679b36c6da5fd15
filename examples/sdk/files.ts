/**
 * Files up and down without holding them in memory: uploads an agent build twice from disk (a
 * file Blob, a Node.js stream) and downloads it back into another file, each streamed.
 *
 *   MERIDIAN_TOKEN=mtk_… npx tsx examples/sdk/files.ts rel_01JDA2B4C6D8E0F2G4H6J8K0M2 ./meridian-agent ./copy
 */
import { createReadStream, openAsBlob } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import Meridian from '@meridian/sdk';

const [releaseId, file, copy] = process.argv.slice(2);
if (!releaseId || !file || !copy) {
  console.error('usage: files.ts <release id> <file to upload> <file to download into>');
  process.exit(2);
}
const meridian = new Meridian({
  baseUrl: process.env.MERIDIAN_URL ?? 'http://localhost:8080',
  token: process.env.MERIDIAN_TOKEN,
});
// readme:start
// Up: a Blob (fs.openAsBlob reads the file as it is sent), a ReadableStream, a Node.js stream or
// any async iterable of bytes. A stream is sent once, as it is read: it is never retried.
const uploaded = await meridian.agentReleases.addArtifact(releaseId, await openAsBlob(file), {
  platform: 'linux-amd64',
});
await meridian.agentReleases.addArtifact(releaseId, createReadStream(file), { platform: 'linux-arm64' });

// Down: a file download resolves to the Response with its body unread; stream it where it goes.
const response = await meridian.agentReleases.downloadArtifact(releaseId, 'linux-arm64');
await writeFile(copy, response.body!);
console.log(`${uploaded.size_bytes} bytes up twice; ${response.headers.get('etag')} down into ${copy}`);
// readme:end

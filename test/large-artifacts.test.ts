/**
 * Large artifacts through the SDK (issue 13 §1/§6): a 200 MB agent build is uploaded twice (a file
 * Blob and a Node.js stream) and downloaded back as a stream by the `Meridian` client in a child
 * process against the real server; the SHA-256 is checked on the way up (the server refuses
 * another) and on the way down, and the child's peak RSS growth must stay under 64 MB: the SDK
 * never holds the file.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { getAgentRelease } from '@meridian/sdk';
import { repoPath } from '../scripts/lib/paths';
import { addRelease } from './support/releases';
import { ok } from './support/server';
import { useTestServer } from './support/use-test-server';

const MiB = 1024 * 1024;
const SIZE = 200 * MiB;
const MEMORY_BOUND = 64 * MiB;

const t = useTestServer({ artifactMaxBytes: 2 * SIZE });

/** Writes `size` random bytes to `file` one MiB at a time; resolves to their SHA-256. */
async function writeRandomFile(file: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  for (let written = 0; written < size; written += MiB) {
    const chunk = randomBytes(Math.min(MiB, size - written));
    hash.update(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await finished(out);
  return hash.digest('hex');
}

describe('a 200 MB agent build', () => {
  it('goes up (file Blob, Node.js stream) and comes back (stream) through the SDK within 64 MB of memory', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'meridian-large-'));
    try {
      const file = join(directory, 'meridian-agent.bin');
      const sha256 = await writeRandomFile(file, SIZE);
      const release = await addRelease(t);
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--expose-gc', '--import', 'tsx', repoPath('test/support/large-transfer.ts')],
        {
          cwd: repoPath('.'),
          env: {
            ...process.env,
            MERIDIAN_URL: t.url,
            MERIDIAN_TOKEN: t.adminToken,
            RELEASE_ID: release.id,
            FILE: file,
            SHA256: sha256,
          },
        },
      );
      const report = JSON.parse(stdout) as {
        uploads: unknown[];
        download: unknown;
        peak_growth_bytes: number;
      };
      expect(report.uploads).toEqual([
        { platform: 'linux-amd64', sha256, size_bytes: SIZE },
        { platform: 'linux-arm64', sha256, size_bytes: SIZE },
      ]);
      expect(report.download).toEqual({ status: 200, etag: `"sha256-${sha256}"`, sha256, bytes: SIZE });
      expect(
        ok(await getAgentRelease({ client: t.admin, path: { release_id: release.id } })).artifacts.map(
          (artifact) => [artifact.platform, artifact.sha256],
        ),
      ).toEqual([
        ['linux-amd64', sha256],
        ['linux-arm64', sha256],
      ]);
      const growth = (report.peak_growth_bytes / MiB).toFixed(1);
      console.info(`SDK peak RSS growth moving 3 × 200 MB: ${growth} MB (bound ${MEMORY_BOUND / MiB} MB)`);
      expect(report.peak_growth_bytes).toBeLessThan(MEMORY_BOUND);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }, 300_000);
});

/**
 * Agent releases (/v1/agent-releases): versions on channels with a build per platform, uploaded
 * (streamed into the blob store, SHA-256 computed and checked) or linked by URL and SHA-256;
 * downloads with Range (206, 416), If-Range and ETag (304), checked byte for byte; refused
 * uploads (wrong SHA-256, too large, a path in the file name, an unknown release) leave nothing.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  type AgentPlatform,
  addAgentReleaseArtifact,
  createAgentRelease,
  createApiToken,
  deleteAgentRelease,
  downloadAgentReleaseArtifact,
  getAgentRelease,
  listAgentReleases,
} from '@meridian/sdk';
import type { FileBlobStore } from '../server-stub/src/lifecycle/blob-store';
import { expectProblem } from './support/problem';
import { ok } from './support/server';
import { addRelease, type BuildQuery, newVersion, uploadBuild } from './support/releases';
import { useTestServer } from './support/use-test-server';
import { unique } from './support/world';

const MAX_BYTES = 64 * 1024;
const t = useTestServer({ artifactMaxBytes: MAX_BYTES });

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

const newRelease = (channel?: string) => addRelease(t, channel);
const upload = (releaseId: string, bytes: Uint8Array, query?: BuildQuery) =>
  uploadBuild(t.admin, releaseId, bytes, query);

/** A download, its body as bytes (parseAs: 'arrayBuffer'). */
async function download(releaseId: string, platform: AgentPlatform, headers: Record<string, string> = {}) {
  const result = await downloadAgentReleaseArtifact({
    client: t.admin,
    path: { release_id: releaseId, platform },
    headers,
    parseAs: 'arrayBuffer',
  });
  const data = result.data as unknown as ArrayBuffer | undefined;
  return { ...result, bytes: data === undefined ? undefined : Buffer.from(data) };
}

/** Every file in the server's blob directory. */
async function storedFiles(): Promise<string[]> {
  const { directory } = t.server.context.blobs as FileBlobStore;
  const entries = await readdir(directory, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
}

describe('agent releases', () => {
  it('are created, read, listed newest first by channel, and a version is released once', async () => {
    const stable = await newRelease();
    const beta = await newRelease('beta');
    expect(stable).toMatchObject({ channel: 'stable', notes: 'Faster heartbeats.', artifacts: [] });
    expect(ok(await getAgentRelease({ client: t.admin, path: { release_id: beta.id } }))).toEqual(beta);
    const betas = ok(await listAgentReleases({ client: t.admin, query: { channel: 'beta' } }));
    expect(betas.data.map((release) => release.id)).toContain(beta.id);
    expect(betas.data.every((release) => release.channel === 'beta')).toBe(true);
    const all = ok(await listAgentReleases({ client: t.admin, query: { limit: 500 } })).data.map((r) => r.id);
    expect(all.indexOf(beta.id)).toBeLessThan(all.indexOf(stable.id));

    const again = await createAgentRelease({ client: t.admin, body: { version: stable.version } });
    expectProblem(again, 409, 'release_version_taken');
    const defaults = ok(await createAgentRelease({ client: t.admin, body: { version: newVersion() } }));
    expect(defaults).toMatchObject({ channel: 'stable', notes: '' });
  });

  it('store an uploaded build under its SHA-256 and serve it whole, in ranges, and by ETag', async () => {
    const release = await newRelease();
    const bytes = randomBytes(40_000);
    const artifact = ok(await upload(release.id, bytes, { platform: 'linux-amd64', sha256: sha256(bytes) }));
    expect(artifact).toMatchObject({
      platform: 'linux-amd64',
      file_name: `meridian-agent-${release.version}-linux-amd64`,
      sha256: sha256(bytes),
      size_bytes: bytes.length,
      source: 'upload',
      url: null,
    });
    expect(await storedFiles()).toContain(sha256(bytes));
    const read = ok(await getAgentRelease({ client: t.admin, path: { release_id: release.id } }));
    expect(read.artifacts).toEqual([artifact]);
    expect(read.updated_at).toBe(artifact.created_at);

    const whole = await download(release.id, 'linux-amd64');
    expect(whole.response.status).toBe(200);
    expect(whole.bytes).toEqual(bytes);
    const etag = whole.response.headers.get('etag')!;
    expect(etag).toBe(`"sha256-${sha256(bytes)}"`);
    expect(whole.response.headers.get('content-disposition')).toBe(
      `attachment; filename="meridian-agent-${release.version}-linux-amd64"`,
    );
    expect(whole.response.headers.get('accept-ranges')).toBe('bytes');

    // Byte for byte in 7 KiB ranges, then checked against the SHA-256 Meridian reported.
    const hash = createHash('sha256');
    for (let start = 0; start < bytes.length; start += 7 * 1024) {
      const end = Math.min(start + 7 * 1024, bytes.length) - 1;
      const part = await download(release.id, 'linux-amd64', { Range: `bytes=${start}-${end}` });
      expect(part.response.status).toBe(206);
      expect(part.response.headers.get('content-range')).toBe(`bytes ${start}-${end}/${bytes.length}`);
      hash.update(part.bytes!);
    }
    expect(hash.digest('hex')).toBe(artifact.sha256);

    const tail = await download(release.id, 'linux-amd64', { Range: 'bytes=-100' });
    expect(tail.bytes).toEqual(bytes.subarray(bytes.length - 100));
    const past = await download(release.id, 'linux-amd64', { Range: `bytes=${bytes.length}-` });
    expectProblem(past, 416, 'range_not_satisfiable');
    expect(past.response.headers.get('content-range')).toBe(`bytes */${bytes.length}`);

    const unchanged = await download(release.id, 'linux-amd64', { 'If-None-Match': etag });
    expect(unchanged.response.status).toBe(304);
    // A range of another version of the file is not sent: the whole current file is.
    const stale = await download(release.id, 'linux-amd64', { Range: 'bytes=0-9', 'If-Range': '"sha256-0"' });
    expect(stale.response.status).toBe(200);
    expect(stale.bytes?.length).toBe(bytes.length);
  });

  it('link a build kept elsewhere by its URL and SHA-256, which Meridian does not serve', async () => {
    const release = await newRelease();
    const link = {
      url: 'https://downloads.example.com/meridian-agent-windows-amd64.exe',
      sha256: 'AB'.repeat(32),
      size_bytes: 123_456,
    };
    const artifact = ok(
      await addAgentReleaseArtifact({
        client: t.admin,
        path: { release_id: release.id },
        query: { platform: 'windows-amd64' },
        body: link,
      }),
    );
    expect(artifact).toMatchObject({
      source: 'url',
      url: link.url,
      sha256: 'ab'.repeat(32),
      size_bytes: 123_456,
      file_name: `meridian-agent-${release.version}-windows-amd64.exe`,
    });
    expectProblem(await download(release.id, 'windows-amd64'), 404, 'artifact_not_stored');
    expectProblem(await download(release.id, 'macos-arm64'), 404, 'not_found');

    const disagreeing = await addAgentReleaseArtifact({
      client: t.admin,
      path: { release_id: release.id },
      query: { platform: 'windows-amd64', sha256: 'cd'.repeat(32) },
      body: link,
    });
    expectProblem(disagreeing, 422, 'sha256_mismatch');
    const noBody = await addAgentReleaseArtifact({
      client: t.admin,
      path: { release_id: release.id },
      query: { platform: 'windows-arm64' },
      body: undefined as never,
    });
    expectProblem(noBody, 400, 'validation_failed');
  });

  it('replace a platform build, and let go of files no release uses any more', async () => {
    const release = await newRelease();
    const first = randomBytes(1000);
    const second = randomBytes(1000);
    ok(await upload(release.id, first, { platform: 'macos-arm64' }));
    const other = await newRelease();
    ok(await upload(other.id, second, { platform: 'linux-arm64' }));
    const replaced = ok(
      await upload(release.id, second, { platform: 'macos-arm64', file_name: 'agent.pkg' }),
    );
    expect(replaced).toMatchObject({ sha256: sha256(second), file_name: 'agent.pkg' });
    const files = await storedFiles();
    expect(files).not.toContain(sha256(first));
    expect(files).toContain(sha256(second));

    // Still used by the other release: kept; then by none: deleted.
    expect(
      (await deleteAgentRelease({ client: t.admin, path: { release_id: release.id } })).response.status,
    ).toBe(204);
    expect(await storedFiles()).toContain(sha256(second));
    expect(
      (await deleteAgentRelease({ client: t.admin, path: { release_id: other.id } })).response.status,
    ).toBe(204);
    expect(await storedFiles()).not.toContain(sha256(second));
    expectProblem(
      await getAgentRelease({ client: t.admin, path: { release_id: release.id } }),
      404,
      'not_found',
    );
    expectProblem(
      await deleteAgentRelease({ client: t.admin, path: { release_id: release.id } }),
      404,
      'not_found',
    );
  });
});

describe('refused uploads leave nothing behind', () => {
  async function expectNothingStored(releaseId: string, bytes: Uint8Array) {
    expect(await storedFiles()).not.toContain(sha256(bytes));
    expect(await readdir(`${(t.server.context.blobs as FileBlobStore).directory}/incoming`)).toEqual([]);
    const release = ok(await getAgentRelease({ client: t.admin, path: { release_id: releaseId } }));
    expect(release.artifacts).toEqual([]);
  }

  it('a file whose SHA-256 is not the declared one: 422 sha256_mismatch', async () => {
    const release = await newRelease();
    const bytes = randomBytes(5000);
    const wrong = await upload(release.id, bytes, {
      platform: 'linux-amd64',
      sha256: sha256(randomBytes(8)),
    });
    const problem = expectProblem(wrong, 422, 'sha256_mismatch');
    expect(problem.detail).toContain(sha256(bytes));
    await expectNothingStored(release.id, bytes);
  });

  it(`a file over MERIDIAN_ARTIFACT_MAX_BYTES (${MAX_BYTES} here): 413`, async () => {
    const release = await newRelease();
    const bytes = randomBytes(MAX_BYTES + 1);
    const tooLarge = await upload(release.id, bytes);
    expect(expectProblem(tooLarge, 413, 'payload_too_large').detail).toContain('64 KiB');
    await expectNothingStored(release.id, bytes);
  });

  it('a file streamed without a length that grows past the limit: 413', async () => {
    const release = await newRelease();
    const chunk = randomBytes(16 * 1024);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 5; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
    const response = await fetch(`${t.url}/v1/agent-releases/${release.id}/artifacts?platform=linux-amd64`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${t.adminToken}`, 'Content-Type': 'application/octet-stream' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(await storedFiles()).not.toContain(sha256(Buffer.concat([chunk, chunk, chunk, chunk, chunk])));
    const release2 = ok(await getAgentRelease({ client: t.admin, path: { release_id: release.id } }));
    expect(release2.artifacts).toEqual([]);
  });

  it.each(['../../etc/passwd', '..', 'dir/agent', 'C:\\agent.exe', '.hidden'])(
    'a file name with a path in it (%s): 400',
    async (fileName) => {
      const release = await newRelease();
      const bytes = randomBytes(100);
      const refused = await upload(release.id, bytes, { platform: 'linux-amd64', file_name: fileName });
      expectProblem(refused, 400, 'validation_failed');
      await expectNothingStored(release.id, bytes);
    },
  );

  it('an empty file: 422 empty_upload', async () => {
    const release = await newRelease();
    expectProblem(await upload(release.id, new Uint8Array()), 422, 'empty_upload');
    await expectNothingStored(release.id, new Uint8Array());
  });

  it('a file for a release that does not exist: 404', async () => {
    const bytes = randomBytes(100);
    const missing = `rel_${'0'.repeat(26)}`;
    expectProblem(await upload(missing, bytes), 404, 'not_found');
    expect(await storedFiles()).not.toContain(sha256(bytes));
    expectProblem(await download(missing, 'linux-amd64'), 404, 'not_found');
  });

  it('a file from someone without releases:write: 403, read by a viewer', async () => {
    const release = await newRelease();
    const bytes = randomBytes(100);
    const token = ok(
      await createApiToken({
        client: t.admin,
        body: { name: unique('reader'), scopes: ['releases:read'] },
      }),
    ).token;
    const refused = await uploadBuild(t.client(token), release.id, bytes);
    expectProblem(refused, 403, 'insufficient_scope');
    await expectNothingStored(release.id, bytes);
  });
});

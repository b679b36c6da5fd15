/** Agent releases for tests: a unique version, an uploaded build (test/agent-releases.test.ts, the world). */
import { randomBytes } from 'node:crypto';
import {
  type AgentPlatform,
  type AgentRelease,
  addAgentReleaseArtifact,
  type Client,
  createAgentRelease,
} from '@meridian/sdk';
import { ok, type TestServer } from './server';

let versions = 0;
/** A version no other release of this test process has. */
export const newVersion = (): string => `${process.pid % 10_000}.${++versions}.0`;

export async function addRelease(t: TestServer, channel = 'stable'): Promise<AgentRelease> {
  return ok(
    await createAgentRelease({
      client: t.admin,
      body: { version: newVersion(), channel, notes: 'Faster heartbeats.' },
    }),
  );
}

export interface BuildQuery {
  platform: AgentPlatform;
  sha256?: string;
  file_name?: string;
}

/** Uploads `bytes` as a release's build: the SDK sends a Blob as it is (bodySerializer null). */
export function uploadBuild(
  client: Client,
  releaseId: string,
  bytes: Uint8Array | Blob,
  query: BuildQuery = { platform: 'linux-amd64' },
) {
  return addAgentReleaseArtifact({
    client,
    path: { release_id: releaseId },
    query,
    body: (bytes instanceof Blob ? bytes : new Blob([bytes as Uint8Array<ArrayBuffer>])) as never,
    bodySerializer: null,
    headers: { 'Content-Type': 'application/octet-stream' },
  });
}

/** Links a windows-amd64 build kept elsewhere to a release: its URL, and a SHA-256 of `hexPair` repeated. */
export const linkBuild = (client: Client, releaseId: string, url: string, hexPair: string) =>
  addAgentReleaseArtifact({
    client,
    path: { release_id: releaseId },
    query: { platform: 'windows-amd64' },
    body: { url, sha256: hexPair.repeat(32) },
  });

/** A release with a small uploaded linux-amd64 build. */
export async function addReleaseWithBuild(t: TestServer): Promise<{ release: AgentRelease; bytes: Buffer }> {
  const release = await addRelease(t);
  const bytes = randomBytes(2048);
  ok(await uploadBuild(t.admin, release.id, bytes));
  return { release, bytes };
}

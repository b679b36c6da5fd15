/**
 * Agent releases, installers and rollouts with two instances on one PostgreSQL database and one
 * blob directory (replicas behind a load balancer share a volume): a file uploaded through one
 * instance is served by the other, byte for byte and in ranges; a stored file is let go only once
 * nothing uses it, whichever instance lets it go; agents that heartbeat, download and report
 * through either instance take a rollout through its batches, each started once.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createRollout,
  deleteAgentRelease,
  deleteInstaller,
  downloadAgentInstaller,
  downloadAgentReleaseArtifact,
  downloadAgentUpdate,
  getRollout,
  reportAgentUpdateResult,
  sendAgentHeartbeat,
} from '@meridian/sdk';
import { addAgent, type Agent } from './support/agents';
import { addUploadedInstaller, sha256 } from './support/installers';
import { usePostgresInstances } from './support/postgres';
import { expectProblem } from './support/problem';
import { addRelease, uploadBuild } from './support/releases';
import { ok, type TestServer } from './support/server';
import { addSite } from './support/world';

const blobDir = join(tmpdir(), `meridian-shared-blobs-${randomUUID()}`);
const [one, two] = usePostgresInstances({ blobDir });
afterAll(() => rm(blobDir, { recursive: true, force: true }));

/** The files of the shared blob directory. */
async function storedFiles(): Promise<string[]> {
  const entries = await readdir(blobDir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
}

const bytesOf = (data: unknown): Buffer => Buffer.from(data as ArrayBuffer);

describe('two instances on one PostgreSQL database and one blob directory', () => {
  it('serve a build and an installer uploaded through the other, and let a file go once nothing uses it', async () => {
    const release = await addRelease(one);
    const build = randomBytes(300_000);
    ok(await uploadBuild(one.admin, release.id, build, { platform: 'linux-amd64', sha256: sha256(build) }));
    const path = { release_id: release.id, platform: 'linux-amd64' } as const;
    const whole = await downloadAgentReleaseArtifact({ client: two.admin, path, parseAs: 'arrayBuffer' });
    expect(bytesOf(ok(whole)).equals(build)).toBe(true);
    const part = await downloadAgentReleaseArtifact({
      client: two.admin,
      path,
      headers: { Range: 'bytes=1000-2999' },
      parseAs: 'arrayBuffer',
    });
    expect(part.response.status).toBe(206);
    expect(bytesOf(part.data).equals(build.subarray(1000, 3000))).toBe(true);

    const { installer, bytes: script } = await addUploadedInstaller(two);
    expect(installer.url).toBe(`${two.url}/v1/agent/installers/${installer.id}/artifact`);
    const agent = await addAgent(one, (await addSite(one)).id);
    const fetched = await downloadAgentInstaller({
      client: agent.client,
      path: { installer_id: installer.id },
      parseAs: 'arrayBuffer',
    });
    expect(bytesOf(ok(fetched)).equals(script)).toBe(true);

    ok(await deleteAgentRelease({ client: two.admin, path: { release_id: release.id } }));
    expect(await storedFiles()).not.toContain(sha256(build));
    expectProblem(await downloadAgentReleaseArtifact({ client: one.admin, path }), 404, 'not_found');
    ok(await deleteInstaller({ client: one.admin, path: { installer_id: installer.id } }));
    expect(await storedFiles()).not.toContain(sha256(script));
  });

  it('take a rollout through its batches with agents reporting to either instance, each batch started once', async () => {
    const site = await addSite(one);
    const agents: Agent[] = [];
    for (let i = 0; i < 4; i++) agents.push(await addAgent(one, site.id));
    const release = await addRelease(two);
    const build = randomBytes(50_000);
    ok(await uploadBuild(two.admin, release.id, build));
    const rollout = ok(
      await createRollout({
        client: one.admin,
        body: {
          release_id: release.id,
          target: { site_ids: [site.id] },
          batch_size: 2,
          failure_threshold: 1,
        },
      }),
    );
    /** The agent's own token on an instance: it heartbeats there, downloads and reports on the other. */
    const on = (t: TestServer, agent: Agent) => t.client(agent.credentials.access_token);
    const versions = new Map<Agent, string>();
    const follow = async (agent: Agent, first: TestServer, second: TestServer): Promise<boolean> => {
      const update = ok(
        await sendAgentHeartbeat({
          client: on(first, agent),
          body: { status: 'ok', agent_version: versions.get(agent) ?? '1.0.0', uptime_seconds: 60 },
        }),
      ).agent_update;
      if (!update) return false;
      const download = await downloadAgentUpdate({
        client: on(second, agent),
        path: { platform: 'linux-amd64' },
        parseAs: 'arrayBuffer',
      });
      expect(sha256(bytesOf(ok(download)))).toBe(update.artifacts[0]!.sha256);
      ok(
        await reportAgentUpdateResult({
          client: on(second, agent),
          body: { rollout_id: update.rollout_id, outcome: 'succeeded', version: update.version },
        }),
      );
      versions.set(agent, update.version);
      return true;
    };
    const batch = async () => {
      const asked = await Promise.all(
        agents.map((agent, i) => follow(agent, i % 2 ? one : two, i % 2 ? two : one)),
      );
      return asked.filter(Boolean).length;
    };
    expect(await batch()).toBe(2);
    expect(ok(await getRollout({ client: two.admin, path: { rollout_id: rollout.id } }))).toMatchObject({
      status: 'running',
      current_batch: 2,
      counts: { succeeded: 2, updating: 2, pending: 0 },
    });
    expect(await batch()).toBe(2);
    expect(ok(await getRollout({ client: one.admin, path: { rollout_id: rollout.id } }))).toMatchObject({
      status: 'completed',
      counts: { succeeded: 4, failed: 0 },
    });
  });
});

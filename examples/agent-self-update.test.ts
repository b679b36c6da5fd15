/**
 * The reference agent updating itself through rollouts, run as a user runs it (a separate process
 * with --install-dir) against a test server asking for a heartbeat every 5 seconds: a build whose download does
 * not match its SHA-256 is reported failed and the old build keeps running; a release's build is
 * downloaded, checked, installed under versions/ with `current` switched to it (the old one kept
 * as `previous`), the agent restarts into it and reports success, so the rollout completes; rolling
 * back (a rollout of the older release) brings the device back the same way.
 *
 * A "build" of the reference agent, which runs from source, is a launcher script that starts
 * agent.ts with its version in MERIDIAN_AGENT_VERSION.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentRelease, Meridian, type Rollout } from '@meridian/sdk';
import { checkedFetch } from '../test/support/checked-fetch';
import {
  type ReferenceAgent,
  startReferenceAgent,
  stopReferenceAgent,
} from '../test/support/reference-agent';
import { newVersion } from '../test/support/releases';
import { useTestServer } from '../test/support/use-test-server';
import { agentPlatform } from './agent/self-update';

const TSX = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
const AGENT = fileURLToPath(new URL('./agent/agent.ts', import.meta.url));
const launcher = (version: string) =>
  `#!/bin/sh\nMERIDIAN_AGENT_VERSION=${version} exec '${TSX}' '${AGENT}' "$@"\n`;

const t = useTestServer({ fleet: { heartbeatIntervalSeconds: 5 } });
let operator: Meridian;
let scratch: string;
let installDir: string;
let files: Server;
let agent: ReferenceAgent | undefined;

/** A release whose build (for this machine's platform) is the launcher of its version. */
async function release(): Promise<AgentRelease> {
  const created = await operator.agentReleases.create({
    version: newVersion(),
    channel: 'stable',
    notes: '',
  });
  await operator.agentReleases.addArtifact(created.id, new Blob([launcher(created.version)]), {
    platform: agentPlatform(),
  });
  return created;
}

/** Waits (real time: the agent is a real process) until the rollout is no longer running. */
async function settled(rollout: Rollout): Promise<Rollout> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const now = await operator.rollouts.get(rollout.id);
    if (now.status !== 'running' || Date.now() > deadline) return now;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const rollOut = async (releaseId: string, deviceId: string) =>
  settled(await operator.rollouts.create({ release_id: releaseId, target: { device_ids: [deviceId] } }));

beforeAll(async () => {
  operator = new Meridian({ baseUrl: t.url, token: t.adminToken, fetch: checkedFetch });
  scratch = mkdtempSync(join(tmpdir(), 'meridian-self-update-'));
  installDir = join(scratch, 'install');
  files = createServer((_request, response) => response.end('not the build that was published'));
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  agent = await startReferenceAgent({
    url: t.url,
    state: join(scratch, 'credentials.json'),
    flags: ['--install-dir', installDir],
    seconds: 120,
    enrollmentCode: async () =>
      (
        await operator.enrollmentCodes.create((await operator.sites.create({ name: 'Self-update' })).id, {
          auto_approve: true,
          max_uses: 1,
        })
      ).code,
  });
});
afterAll(async () => {
  await stopReferenceAgent(agent);
  await new Promise((resolve) => files.close(resolve));
  rmSync(scratch, { recursive: true, force: true });
});

describe('the reference agent following rollouts', () => {
  it('refuses a build whose SHA-256 does not match, reports it failed and keeps running', {
    timeout: 60_000,
  }, async () => {
    const tampered = await operator.agentReleases.create({
      version: newVersion(),
      channel: 'stable',
      notes: '',
    });
    const published = launcher(tampered.version);
    await operator.agentReleases.addArtifact(
      tampered.id,
      {
        url: `http://127.0.0.1:${(files.address() as AddressInfo).port}/meridian-agent`,
        sha256: createHash('sha256').update(published).digest('hex'),
      },
      { platform: agentPlatform() },
    );
    const device = agent!.deviceId;
    const rollout = await rollOut(tampered.id, device);
    expect(rollout).toMatchObject({
      status: 'paused',
      pause_reason: 'failure_threshold',
      counts: { failed: 1 },
    });
    const [failed] = (await operator.rollouts.listDevices(rollout.id)).data;
    expect(failed).toMatchObject({ state: 'failed', from_version: '0.1.0' });
    expect(failed!.error).toMatch(/has SHA-256 [0-9a-f]{64}, not [0-9a-f]{64}: not installed\.$/);
    expect(agent!.process.exitCode).toBeNull();
    expect((await operator.devices.get(device)).agent_version).toBe('0.1.0');
    await operator.rollouts.cancel(rollout.id);
  });

  it('installs a release, restarts into it, and rolls back to the older one', {
    timeout: 120_000,
  }, async () => {
    const device = agent!.deviceId;
    const older = await release();
    const newer = await release();
    expect(await rollOut(newer.id, device)).toMatchObject({ status: 'completed', counts: { succeeded: 1 } });
    expect((await operator.devices.get(device)).agent_version).toBe(newer.version);
    expect(readlinkSync(join(installDir, 'current'))).toBe(join('versions', newer.version));

    // Rolling back: a rollout of the older release.
    expect(await rollOut(older.id, device)).toMatchObject({ status: 'completed', counts: { succeeded: 1 } });
    expect((await operator.devices.get(device)).agent_version).toBe(older.version);
    expect(readlinkSync(join(installDir, 'current'))).toBe(join('versions', older.version));
    expect(readlinkSync(join(installDir, 'previous'))).toBe(join('versions', newer.version));
    // The agent runs on, as the older build: it still answers commands.
    const ping = await operator.commands.create(
      { device_id: device, type: 'ping', params: {} },
      { wait_seconds: 20 },
    );
    expect(ping.status).toBe('succeeded');
  });
});

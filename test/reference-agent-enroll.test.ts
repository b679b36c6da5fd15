/**
 * The reference agent's `enroll --server <url> --code <code>`, which the install scripts run: the
 * rendered install.sh, run for real under `sh`, downloads a build that starts the reference agent
 * (examples/agent/agent.ts), checks it and runs its `enroll`, which enrols the machine with the code,
 * saves the credentials and the server's URL, and exits 0. The agent started afterwards with that
 * state and no MERIDIAN_URL resumes on that server. Without --code it refuses, saying how to call it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { getAgentInstallScript, getDevice } from '@meridian/sdk';
import { addCode } from './support/agents';
import { addRelease, uploadBuild } from './support/releases';
import { type ReferenceAgent, startReferenceAgent, stopReferenceAgent } from './support/reference-agent';
import { ok } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addSite } from './support/world';

const TSX = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
const AGENT = fileURLToPath(new URL('../examples/agent/agent.ts', import.meta.url));

const blobDir = mkdtempSync(join(tmpdir(), 'meridian-enroll-blobs-'));
const t = useTestServer({ blobDir });
const scratch = mkdtempSync(join(tmpdir(), 'meridian-enroll-'));
const state = join(scratch, 'state', 'credentials.json');
/** The build the install script installs: a launcher of the reference agent keeping its state in `state`. */
const LAUNCHER = Buffer.from(`#!/bin/sh\nexec '${TSX}' '${AGENT}' --state '${state}' "$@"\n`);
let agent: ReferenceAgent | undefined;

afterAll(async () => {
  await stopReferenceAgent(agent);
  rmSync(scratch, { recursive: true, force: true });
  rmSync(blobDir, { recursive: true, force: true });
});

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end without blocking this process (the server answers it meanwhile). */
function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ status: error ? Number(error.code ?? -1) : 0, stdout, stderr }),
    );
  });
}

describe('meridian-agent enroll', () => {
  it('is run by install.sh: enrols with the code, saves the server, and the agent then resumes on it', async () => {
    const siteId = (await addSite(t)).id;
    const code = await addCode(t, siteId, { auto_approve: true, max_uses: 1 });
    const release = await addRelease(t);
    for (const platform of ['linux-amd64', 'linux-arm64'] as const)
      ok(await uploadBuild(t.admin, release.id, LAUNCHER, { platform }));
    const script = ok(await getAgentInstallScript({ client: t.client(), query: { code } })) as string;
    const scriptFile = join(scratch, 'install.sh');
    writeFileSync(scriptFile, script);

    const installed = await run('sh', [scriptFile], {
      PATH: process.env.PATH,
      MERIDIAN_INSTALL_DIR: join(scratch, 'bin'),
    });
    expect(installed.stderr).toBe('');
    expect(installed.status).toBe(0);
    const saved = JSON.parse(readFileSync(state, 'utf8')) as { device_id: string; server: string };
    expect(saved.server).toBe(t.url);
    expect(installed.stdout).toContain(`enrolled as device ${saved.device_id} with ${t.url}`);
    expect(ok(await getDevice({ client: t.admin, path: { device_id: saved.device_id } }))).toMatchObject({
      site_id: siteId,
    });

    agent = await startReferenceAgent({ state, enrollmentCode: () => Promise.reject(new Error('enrolled')) });
    expect(agent.deviceId).toBe(saved.device_id);
    await stopReferenceAgent(agent);
  });

  it('without --code refuses, saying how to call it, and enrols nothing', async () => {
    const other = join(scratch, 'other.json');
    const refused = await run(TSX, [AGENT, 'enroll', '--server', t.url, '--state', other], {
      PATH: process.env.PATH,
    });
    expect(refused).toMatchObject({
      status: 2,
      stderr: 'Usage: agent.ts enroll --server <url> --code <code> [--state <file>]\n',
    });
    expect(() => readFileSync(other)).toThrow('ENOENT');
  });
});

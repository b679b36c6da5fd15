/**
 * A deployment installed by the reference agent for real: the agent (a separate process, started
 * with --allow-shell) receives install_software, downloads a shell-script installer served by a
 * local HTTP server, checks its SHA-256, runs it with the install arguments (it writes a file) and
 * reports its inventory, where the software shows as the installer's detection rule names it; the
 * deployment's target succeeds. An installer whose SHA-256 differs is not run; the same agent
 * restarted without --allow-shell refuses, saying how to allow it. An uninstall deployment runs
 * the installer with the uninstall arguments, which removes the file, and the inventory drops it;
 * its target shows `downloading` while the agent downloads. The local server sees no Authorization
 * header (it is another origin than Meridian's); an installer uploaded to Meridian, which the agent
 * downloads from Meridian with its access token, is installed and uninstalled the same way.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Deployment, Meridian } from '@meridian/sdk';
import { checkedFetch } from './support/checked-fetch';
import { type ReferenceAgent, startReferenceAgent, stopReferenceAgent } from './support/reference-agent';
import { useTestServer } from './support/use-test-server';
import { unique } from './support/world';

/** A shell-script installer: `--into <directory>` writes the software there, `--remove <directory>` removes it. */
const INSTALLER = [
  '#!/bin/sh',
  'set -eu',
  '[ "$#" -eq 2 ] || { echo "usage: $0 --into|--remove <directory>" >&2; exit 2; }',
  'if [ "$1" = --remove ]; then rm -r "$2"; echo "removed $2"; exit 0; fi',
  'mkdir -p "$2"',
  'echo "Lobby Show 2.1" > "$2/lobby-show.txt"',
  'echo "installed into $2"',
  '',
].join('\n');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const t = useTestServer();
let operator: Meridian;
let scratch: string;
let files: Server;
let installerUrl: string;
/** The headers of every request the local server received. */
const received: IncomingHttpHeaders[] = [];
/** While set, the local server answers the installer's request once it settles. */
let holdDownloads: Promise<void> | undefined;
let agent: ReferenceAgent | undefined;
/** The installer the first test installs (the next one uninstalls it). */
let installed: string;

const start = async (flags: string[]) => {
  agent = await startReferenceAgent({
    url: t.url,
    state: join(scratch, 'credentials.json'),
    flags,
    enrollmentCode: async () =>
      (
        await operator.enrollmentCodes.create(
          (
            await operator.sites.create({ name: unique('Deployments') })
          ).id,
          {
            auto_approve: true,
            max_uses: 1,
          },
        )
      ).code,
  });
  return agent.deviceId;
};

/** Adds an installer of the script (with `sha`) installing into `directory`. */
const addInstaller = (directory: string, sha = sha256(INSTALLER)) =>
  operator.installers.create({
    name: unique('Lobby Show'),
    version: '2.1.0',
    platform: 'linux',
    url: installerUrl,
    sha256: sha,
    install_arguments: ['--into', directory],
    uninstall_arguments: ['--remove', directory],
    detection: { name: 'Lobby Show', version: '2.1' },
  });

/** Deploys the installer to the device and waits for the agent to finish it. */
async function deployTo(
  deviceId: string,
  installerId: string,
  action: 'install' | 'uninstall' = 'install',
): Promise<Deployment> {
  return finished(
    await operator.deployments.create({
      installer_id: installerId,
      action,
      target: { device_ids: [deviceId] },
    }),
  );
}

/** The deployment once it no longer runs. */
async function finished(deployment: Deployment): Promise<Deployment> {
  await expect
    .poll(async () => (await operator.deployments.get(deployment.id)).state, {
      timeout: 20_000,
      interval: 100,
    })
    .not.toBe('running');
  return operator.deployments.get(deployment.id);
}

const targetOf = async (deployment: Deployment) =>
  (await operator.deployments.listTargets(deployment.id)).data[0]!;

beforeAll(async () => {
  operator = new Meridian({ baseUrl: t.url, token: t.adminToken, fetch: checkedFetch });
  scratch = mkdtempSync(join(tmpdir(), 'meridian-deployments-'));
  files = createServer((request, response) => {
    received.push(request.headers);
    if (request.url !== '/lobby-show.sh') response.writeHead(404).end();
    else if (holdDownloads) holdDownloads.then(() => response.end(INSTALLER));
    else response.end(INSTALLER);
  });
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  installerUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}/lobby-show.sh`;
});
afterAll(async () => {
  await stopReferenceAgent(agent);
  await new Promise((resolve) => files.close(resolve));
  rmSync(scratch, { recursive: true, force: true });
});

describe('a deployment installed by the reference agent with --allow-shell', () => {
  let device: string;
  beforeAll(async () => {
    device = await start(['--allow-shell']);
  });
  afterAll(() => stopReferenceAgent(agent));

  it('downloads and checks the installer, runs it, and the inventory shows the software', async () => {
    const into = join(scratch, 'installed');
    const installer = await addInstaller(into);
    installed = installer.id;
    const deployment = await deployTo(device, installer.id);
    expect(deployment).toMatchObject({ state: 'succeeded', counts: { total: 1, succeeded: 1 } });
    expect(await targetOf(deployment)).toMatchObject({
      device_id: device,
      state: 'succeeded',
      exit_code: 0,
      stdout: `installed into ${into}\n`,
      error: null,
      progress_message: `installing ${installer.name} 2.1.0`,
    });
    expect(readFileSync(join(into, 'lobby-show.txt'), 'utf8')).toBe('Lobby Show 2.1\n');
    const inventory = await operator.devices.getInventory(device);
    expect(inventory.software).toContainEqual({
      name: 'Lobby Show',
      version: '2.1',
      installed_on: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
    });
  });

  it('an uninstall deployment runs the installer with the uninstall arguments; the inventory drops it', async () => {
    const into = join(scratch, 'installed');
    let release = () => {};
    holdDownloads = new Promise((resolve) => {
      release = resolve;
    });
    const running = await operator.deployments.create({
      installer_id: installed,
      action: 'uninstall',
      target: { device_ids: [device] },
    });
    try {
      await expect
        .poll(async () => (await targetOf(running)).state, { timeout: 20_000, interval: 100 })
        .toBe('downloading');
      expect(await targetOf(running)).toMatchObject({ progress_message: 'downloading the installer' });
    } finally {
      holdDownloads = undefined;
      release();
    }
    const deployment = await finished(running);
    expect(deployment).toMatchObject({ action: 'uninstall', state: 'succeeded' });
    expect(await targetOf(deployment)).toMatchObject({
      state: 'succeeded',
      exit_code: 0,
      stdout: `removed ${into}\n`,
      progress_message: 'uninstalling Lobby Show 2.1',
    });
    expect(existsSync(into)).toBe(false);
    const inventory = await operator.devices.getInventory(device);
    expect(inventory.software.map((software) => software.name)).not.toContain('Lobby Show');
  });

  it('sends its access token to no other host than Meridian', () => {
    expect(received.length).toBeGreaterThanOrEqual(2);
    for (const headers of received) expect(headers.authorization).toBeUndefined();
  });

  it('downloads an installer uploaded to Meridian with its access token, installs and uninstalls it', async () => {
    const into = join(scratch, 'uploaded');
    const script = INSTALLER.replace('Lobby Show 2.1', 'Lobby Show 2.2');
    const installer = await operator.installers.create({
      name: unique('Lobby Show'),
      version: '2.2.0',
      platform: 'linux',
      sha256: sha256(script),
      install_arguments: ['--into', into],
      uninstall_arguments: ['--remove', into],
      detection: { name: 'Lobby Show', version: '2.2' },
    });
    await operator.installers.uploadArtifact(installer.id, new Blob([script]));
    expect(installer.url).toBe(`${t.url}/v1/agent/installers/${installer.id}/artifact`);
    const install = await deployTo(device, installer.id);
    expect(await targetOf(install)).toMatchObject({ state: 'succeeded', stdout: `installed into ${into}\n` });
    expect(readFileSync(join(into, 'lobby-show.txt'), 'utf8')).toBe('Lobby Show 2.2\n');
    const uninstall = await deployTo(device, installer.id, 'uninstall');
    expect(await targetOf(uninstall)).toMatchObject({ state: 'succeeded', stdout: `removed ${into}\n` });
    expect(existsSync(into)).toBe(false);
  });

  it('does not run an installer whose SHA-256 differs', async () => {
    const into = join(scratch, 'tampered');
    const installer = await addInstaller(into, sha256('another file'));
    const deployment = await deployTo(device, installer.id);
    expect(deployment.state).toBe('failed');
    expect(await targetOf(deployment)).toMatchObject({
      state: 'failed',
      error: `The installer's SHA-256 is ${sha256(INSTALLER)}, not ${sha256('another file')}: not run.`,
    });
    expect(existsSync(into)).toBe(false);
  });
});

describe('a deployment on the same agent restarted without --allow-shell', () => {
  it('fails, saying how to allow it, and installs nothing', async () => {
    const device = await start([]);
    const into = join(scratch, 'refused');
    const installer = await addInstaller(into);
    const deployment = await deployTo(device, installer.id);
    expect(deployment.state).toBe('failed');
    expect(await targetOf(deployment)).toMatchObject({
      state: 'failed',
      exit_code: null,
      error: `This agent does not install software: start it with --allow-shell to let it install ${installer.name} 2.1.0.`,
    });
    expect(existsSync(into)).toBe(false);
  });
});

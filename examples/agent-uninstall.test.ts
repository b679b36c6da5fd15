/**
 * The reference agent's `uninstall_software` command, run as a user runs the agent (a separate
 * process) against a fresh in-memory server: uninstalling an entry of its inventory
 * (POST /v1/devices/{device_id}/software/{software_id}/uninstall) runs the installer that detects
 * it and the inventory no longer lists it; with --allow-shell it downloads the installer script
 * the command names (served here by a local HTTP server), checks its SHA-256 and runs it with the
 * uninstall arguments, which removes what it installed; a download that does not match, an
 * uninstaller that fails and a command without an installer fail, saying why, and change nothing;
 * restarted without --allow-shell it refuses.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Meridian } from '@meridian/sdk';
import { checkedFetch } from '../test/support/checked-fetch';
import {
  type ReferenceAgent,
  startReferenceAgent,
  stopReferenceAgent,
} from '../test/support/reference-agent';
import { useTestServer } from '../test/support/use-test-server';

/** A shell-script installer: `--uninstall <file>` removes the file it installed. */
const INSTALLER = [
  '#!/bin/sh',
  'set -eu',
  '{ [ "$#" = 2 ] && [ "$1" = --uninstall ]; } || { echo "usage: $0 --uninstall <file>" >&2; exit 2; }',
  'rm "$2"',
  'echo "removed $2"',
  '',
].join('\n');
const INSTALLER_SHA256 = createHash('sha256').update(INSTALLER).digest('hex');

const t = useTestServer();
let operator: Meridian;
let scratch: string;
let files: Server;
let installerUrl: string;
let running: ReferenceAgent | undefined;
let installed: string;

/** Starts the reference agent of this machine (enrolled on a new site the first time). */
async function startAgent(flags: string[]): Promise<string> {
  running = await startReferenceAgent({
    url: t.url,
    state: join(scratch, 'credentials.json'),
    flags,
    enrollmentCode: async () =>
      (
        await operator.enrollmentCodes.create((await operator.sites.create({ name: 'Uninstall' })).id, {
          auto_approve: true,
          max_uses: 1,
        })
      ).code,
  });
  return running.deviceId;
}

const stopAgent = () => stopReferenceAgent(running);

/** Sends the device an `uninstall_software` command and waits for its end. */
const uninstall = (deviceId: string, params: Record<string, unknown>) =>
  operator.commands.create(
    { device_id: deviceId, type: 'uninstall_software', params: { name: 'Lobby Show', ...params } },
    { wait_seconds: 20 },
  );

beforeAll(async () => {
  operator = new Meridian({ baseUrl: t.url, token: t.adminToken, fetch: checkedFetch });
  scratch = mkdtempSync(join(tmpdir(), 'meridian-uninstall-'));
  // The software the agent knows it has (examples/agent/software.ts), reported in its inventory.
  writeFileSync(join(scratch, 'software.json'), JSON.stringify([{ name: 'Lobby Show', version: '1.2.0' }]));
  files = createServer((request, response) => {
    if (request.url === '/installer.sh') response.end(INSTALLER);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  installerUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}/installer.sh`;
});
afterAll(async () => {
  await stopAgent();
  await new Promise((resolve) => files.close(resolve));
  rmSync(scratch, { recursive: true, force: true });
});
beforeEach(() => {
  installed = join(scratch, 'lobby-show.bin');
  writeFileSync(installed, 'the software');
});

describe('uninstall_software on the reference agent with --allow-shell', () => {
  let device: string;
  beforeAll(async () => {
    device = await startAgent(['--allow-shell']);
  });
  afterAll(stopAgent);

  it('uninstalls from the inventory with the installer detecting it, which then no longer lists it', async () => {
    await operator.installers.create({
      name: 'Lobby Show',
      version: '1.2.0',
      platform: 'linux',
      url: installerUrl,
      sha256: INSTALLER_SHA256,
      uninstall_arguments: ['--uninstall', installed],
    });
    const show = (await operator.software.listInstalled(device)).software.find(
      (entry) => entry.name === 'Lobby Show',
    )!;
    expect(show).toMatchObject({ version: '1.2.0', uninstall_block: null });
    const done = await operator.software.uninstall(device, show.id, { wait_seconds: 20 });
    expect(done).toMatchObject({ type: 'uninstall_software', status: 'succeeded' });
    expect(existsSync(installed)).toBe(false);
    expect((await operator.software.listInstalled(device)).software).toEqual([]);
  });

  it('downloads the installer, checks its SHA-256 and runs it with the uninstall arguments', async () => {
    const done = await uninstall(device, {
      version: '1.2.0',
      url: installerUrl,
      sha256: INSTALLER_SHA256,
      arguments: ['--uninstall', installed],
    });
    expect(done.status).toBe('succeeded');
    expect(done.result).toMatchObject({ exit_code: 0, stdout: `removed ${installed}\n`, error: null });
    expect(existsSync(installed)).toBe(false);
  });

  it('does not run an installer whose SHA-256 differs', async () => {
    const refused = await uninstall(device, {
      url: installerUrl,
      sha256: '0'.repeat(64),
      arguments: ['--uninstall', installed],
    });
    expect(refused.status).toBe('failed');
    expect(refused.result?.error).toBe(
      `The installer's SHA-256 is ${INSTALLER_SHA256}, not ${'0'.repeat(64)}: not run.`,
    );
    expect(existsSync(installed)).toBe(true);
  });

  it('fails with the exit code of an uninstaller that fails', async () => {
    const failed = await uninstall(device, { url: installerUrl, sha256: INSTALLER_SHA256, arguments: [] });
    expect(failed.status).toBe('failed');
    expect(failed.result).toMatchObject({
      exit_code: 2,
      error: 'The uninstaller of Lobby Show exited with 2.',
    });
    expect(failed.result?.stderr).toContain('usage:');
    expect(existsSync(installed)).toBe(true);
  });

  it('is refused by the server when url or sha256 comes alone (422)', async () => {
    for (const params of [{ url: installerUrl }, { sha256: INSTALLER_SHA256 }, { version: '' }])
      await expect(uninstall(device, params)).rejects.toMatchObject({
        status: 422,
        code: 'invalid_command_params',
      });
  });

  it('fails without an installer to uninstall with', async () => {
    const failed = await uninstall(device, { version: '1.2.0' });
    expect(failed.status).toBe('failed');
    expect(failed.result?.error).toBe(
      'The reference agent uninstalls only with an installer script (url and sha256); Lobby Show 1.2.0 has none.',
    );
  });
});

describe('uninstall_software on the same agent restarted without --allow-shell', () => {
  it('refuses, saying how to allow it, and leaves the software alone', async () => {
    const device = await startAgent([]);
    const refused = await uninstall(device, {
      url: installerUrl,
      sha256: INSTALLER_SHA256,
      arguments: ['--uninstall', installed],
    });
    expect(refused.status).toBe('failed');
    expect(refused.result?.error).toBe(
      'This agent does not uninstall software: start it with --allow-shell to let it uninstall Lobby Show.',
    );
    expect(existsSync(installed)).toBe(true);
    await stopAgent();
  });
});

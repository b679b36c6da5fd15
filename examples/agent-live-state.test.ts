/**
 * The reference agent answering live state commands for real, run as a user runs it (a separate
 * process with --allow-shell) against a fresh in-memory server: the process list comes from
 * `ps` and holds a program the test started; terminating it by PID ends it; a PID that no longer
 * runs and a service the machine does not have fail, saying why.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEnrollmentCode,
  createSite,
  listLiveProcesses,
  runServiceAction,
  terminateLiveProcess,
} from '@meridian/sdk';
import { ok } from '../test/support/server';
import { useTestServer } from '../test/support/use-test-server';

const TSX = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
const AGENT = fileURLToPath(new URL('./agent/agent.ts', import.meta.url));

const t = useTestServer();
let scratch: string;
let agent: ChildProcess | undefined;
let sleeper: ChildProcess | undefined;
let deviceId: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'meridian-live-'));
  const site = ok(await createSite({ client: t.admin, body: { name: 'Live state' } }));
  const { code } = ok(
    await createEnrollmentCode({
      client: t.admin,
      path: { site_id: site.id },
      body: { auto_approve: true, max_uses: 1 },
    }),
  );
  const state = join(scratch, 'credentials.json');
  const started = spawn(TSX, [AGENT, '--state', state, '--for', '120', '--allow-shell'], {
    env: { ...process.env, MERIDIAN_URL: t.url, MERIDIAN_ENROLL_CODE: code },
  });
  agent = started;
  await new Promise<void>((resolve, reject) => {
    let stdout = '';
    started.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('online; waiting for commands')) resolve();
    });
    started.once('exit', (exit) =>
      reject(new Error(`the agent exited (${exit}) before it was online: ${stdout}`)),
    );
  });
  deviceId = (JSON.parse(readFileSync(state, 'utf8')) as { device_id: string }).device_id;
});

afterAll(async () => {
  sleeper?.kill('SIGKILL');
  if (agent && agent.exitCode === null) {
    const exited = new Promise((resolve) => agent!.once('exit', resolve));
    agent.kill('SIGTERM');
    await exited;
  }
  rmSync(scratch, { recursive: true, force: true });
});

describe('the reference agent', () => {
  it('lists the running processes from ps, and terminates one by PID', async () => {
    const child = spawn('sleep', ['300'], { stdio: 'ignore' });
    sleeper = child;
    const ended = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );

    const listed = await listLiveProcesses({
      client: t.admin,
      path: { device_id: deviceId },
      query: { max_age_seconds: 0, wait_seconds: 30 },
    });
    expect(listed.response.status).toBe(200);
    expect(listed.data!.refresh_command).toMatchObject({ type: 'list_processes', status: 'succeeded' });
    expect(listed.data!.processes).toContainEqual(
      expect.objectContaining({
        pid: child.pid,
        parent_pid: process.pid,
        name: 'sleep',
        command_line: 'sleep 300',
      }),
    );

    const terminated = await terminateLiveProcess({
      client: t.admin,
      path: { device_id: deviceId, pid: child.pid! },
      query: { wait_seconds: 30 },
    });
    expect(terminated.response.status).toBe(200);
    expect(terminated.data).toMatchObject({
      status: 'succeeded',
      result: { stdout: `Process ${child.pid} ended.\n` },
    });
    expect(await ended).toBe('SIGTERM');

    const again = await terminateLiveProcess({
      client: t.admin,
      path: { device_id: deviceId, pid: child.pid! },
      query: { wait_seconds: 30 },
    });
    expect(again.data).toMatchObject({
      status: 'failed',
      result: { error: `No process has PID ${child.pid}.` },
    });
  });

  it('fails a service action on a service the machine does not have', async () => {
    const acted = await runServiceAction({
      client: t.admin,
      path: { device_id: deviceId, service_name: 'meridian-no-such-service.service' },
      query: { wait_seconds: 30 },
      body: { action: 'restart' },
    });
    expect(acted.response.status).toBe(200);
    expect(acted.data).toMatchObject({ type: 'restart_service', status: 'failed' });
    expect(acted.data!.result!.exit_code).not.toBe(0);
  });
});

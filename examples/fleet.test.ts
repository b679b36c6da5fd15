/**
 * The reference agent and the fleet simulator, run as a user runs them (separate processes,
 * configured by environment and flags) against a fresh in-memory server.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Meridian } from '@meridian/sdk';
import { checkedFetch } from '../test/support/checked-fetch';
import { startTestServer } from '../test/support/server';
import { useTestServer } from '../test/support/use-test-server';

const run = promisify(execFile);
const TSX = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
const script = (path: string) => fileURLToPath(new URL(`./${path}`, import.meta.url));

const t = useTestServer();
let operator: Meridian;
let scratch: string;
beforeAll(async () => {
  operator = new Meridian({ baseUrl: t.url, token: t.adminToken, fetch: checkedFetch });
  scratch = mkdtempSync(join(tmpdir(), 'meridian-agent-'));
});
afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('examples/agent', () => {
  it('enrols this machine, answers a command for real, keeps its credentials, and stops on time', async () => {
    const site = await operator.sites.create({ name: 'Reference agent' });
    const { code } = await operator.enrollmentCodes.create(site.id, { auto_approve: true, max_uses: 1 });
    const state = join(scratch, 'credentials.json');
    const agent = spawn(TSX, [script('agent/agent.ts'), '--state', state, '--for', '6'], {
      env: { ...process.env, MERIDIAN_URL: t.url, MERIDIAN_ENROLL_CODE: code },
    });
    let stdout = '';
    agent.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => agent.once('exit', resolve));

    await expect.poll(() => stdout, { timeout: 15_000 }).toMatch(/online; waiting for commands/);
    const saved = JSON.parse(readFileSync(state, 'utf8')) as { device_id: string };
    const command = await operator.commands.create(
      { device_id: saved.device_id, type: 'echo', params: { text: 'hello from the operator' } },
      { wait_seconds: 10 },
    );
    expect(command.status).toBe('succeeded');
    expect(command.result?.stdout).toBe('hello from the operator\n');
    const shell = await operator.commands.create(
      { device_id: saved.device_id, type: 'run_shell', params: { command: 'rm -rf /tmp/nothing' } },
      { wait_seconds: 10 },
    );
    expect(shell.result?.stdout).toMatch(/^simulated: would run/);

    expect(await exited).toBe(0);
    expect(stdout).toMatch(/echo cmd_\w+: succeeded/);
    expect(stdout).toMatch(/stopped\n$/);
    expect((await operator.devices.get(saved.device_id)).status).toBe('online');
    expect(existsSync(state)).toBe(true);
    expect(stdout).toMatch(/configuration \S+: 0 monitored process\(es\)/);
    expect((await operator.devices.getInventory(saved.device_id)).hardware).toMatchObject({
      cpu_cores: expect.any(Number),
    });
  });
});

describe('examples/agent --run-processes', () => {
  it('runs its monitored processes, restarts one that dies, reports their state, and stops them when it stops', async () => {
    // Heartbeats every 5 s, so the states arrive while the test waits.
    const server = await startTestServer({ fleet: { heartbeatIntervalSeconds: 5 } });
    try {
      const admin = new Meridian({ baseUrl: server.url, token: server.adminToken, fetch: checkedFetch });
      const site = await admin.sites.create({ name: 'Reference agent with processes' });
      const { code } = await admin.enrollmentCodes.create(site.id, { auto_approve: true, max_uses: 1 });
      const state = join(scratch, 'credentials-processes.json');
      const agent = spawn(
        TSX,
        [script('agent/agent.ts'), '--state', state, '--run-processes', '--for', '90'],
        { env: { ...process.env, MERIDIAN_URL: server.url, MERIDIAN_ENROLL_CODE: code } },
      );
      let stdout = '';
      agent.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => agent.once('exit', resolve));
      await expect.poll(() => stdout, { timeout: 15_000 }).toMatch(/online; waiting for commands/);
      const deviceId = (JSON.parse(readFileSync(state, 'utf8')) as { device_id: string }).device_id;

      const monitored = await admin.monitoredProcesses.create(deviceId, {
        name: 'sleeper',
        executable_path: process.execPath,
        arguments: ['-e', 'setInterval(() => {}, 1000)'],
        restart_delay_seconds: 1,
      });
      const reported = () => admin.monitoredProcesses.get(deviceId, monitored.id);
      await expect
        .poll(async () => (await reported()).state, { timeout: 30_000, interval: 500 })
        .toBe('running');
      const first = await reported();
      expect(first).toMatchObject({ pid: expect.any(Number), restart_count: 0 });
      process.kill(first.pid!, 'SIGKILL');
      await expect
        .poll(async () => (await reported()).restart_count, { timeout: 30_000, interval: 500 })
        .toBe(1);
      const second = await reported();
      expect(second).toMatchObject({ state: 'running', pid: expect.any(Number) });
      expect(second.pid).not.toBe(first.pid);
      const events = await admin.events.list({ device_id: deviceId, type: 'process.started' });
      expect(events.data.length).toBeGreaterThanOrEqual(1);

      agent.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stdout).toMatch(/configuration \S+: 1 monitored process\(es\)\n/);
      expect(() => process.kill(second.pid!, 0)).toThrow(/ESRCH/);
    } finally {
      await server.close();
    }
  });
});

describe('examples/fleet-sim', () => {
  it('enrols a small fleet, runs commands across it and prints a clean summary', async () => {
    const { stdout } = await run(
      TSX,
      [script('fleet-sim/fleet-sim.ts'), '--agents', '5', '--seconds', '3', '--progress-every', '1'],
      {
        env: { ...process.env, MERIDIAN_URL: t.url, MERIDIAN_TOKEN: t.adminToken },
      },
    );
    expect(stdout).toMatch(/^5 agents enrolled on site fleet-sim /);
    expect(stdout).toMatch(/^t=\d+s agents=5 heartbeats=\d+/m);
    const summary =
      /summary: 5 agents, [\d.]+ s, heartbeats (\d+) .*commands (\d+) \(round trip p50 \d+ ms, p99 \d+ ms\), errors 0/.exec(
        stdout,
      );
    expect(summary, stdout).not.toBeNull();
    expect(Number(summary![1])).toBeGreaterThanOrEqual(5);
    expect(Number(summary![2])).toBeGreaterThan(0);
  });
});

/**
 * MeridianAgent against the real server: enrolment (approved, denied), credentials that renew
 * themselves once the access token expires (one refresh even when calls race), and commands
 * run through handlers, including the ones this agent does not know or that throw.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  EnrollmentRefusedError,
  Meridian,
  MeridianAgent,
  type AgentConfig,
  type AgentCredentials,
} from '../src/index';
import { checkedFetch } from '../../test/support/checked-fetch';
import { useTestServer } from '../../test/support/use-test-server';
import { TINY_JPEG } from '../../test/support/agents';

const t = useTestServer({ fleet: { enrollmentPollIntervalSeconds: 1 } });
let operator: Meridian;
let autoCode: string;
let manualCode: string;
let machine = 0;

beforeAll(async () => {
  operator = new Meridian({ baseUrl: t.url, token: t.adminToken, fetch: checkedFetch });
  const site = await operator.sites.create({ name: 'Agents' });
  autoCode = (await operator.enrollmentCodes.create(site.id, { auto_approve: true })).code;
  manualCode = (await operator.enrollmentCodes.create(site.id, {})).code;
});

const facts = () => ({ hostname: `host-${++machine}`, platform: 'linux' as const, agent_version: '1.0.0' });
const agentWith = (saved: AgentCredentials[] = []) =>
  new MeridianAgent({
    baseUrl: t.url,
    fetch: checkedFetch,
    logLevel: 'off',
    onCredentials: (c) => void saved.push(c),
  });

describe('MeridianAgent', () => {
  it('enrols with an auto-approving code and hands the credentials to onCredentials', async () => {
    const saved: AgentCredentials[] = [];
    const agent = agentWith(saved);
    const credentials = await agent.enroll({
      code: autoCode,
      fingerprint: `agent-test:${machine}`,
      facts: facts(),
    });
    expect(credentials.access_token).toBeTruthy();
    expect(saved).toEqual([credentials]);
    expect(agent.deviceId).toBe(credentials.device_id);
    expect(
      (await agent.heartbeat({ status: 'ok', agent_version: '1.0.0', uptime_seconds: 5 })).device_id,
    ).toBe(credentials.device_id);
  });

  it('throws EnrollmentRefusedError with the reason when an operator denies it', async () => {
    const agent = agentWith();
    const enrolling = agent.enroll({
      code: manualCode,
      fingerprint: `agent-test:denied-${machine}`,
      facts: facts(),
    });
    let pending: { id: string }[] = [];
    for (let tries = 0; pending.length === 0 && tries < 100; tries++) {
      pending = (await operator.enrollmentRequests.list({ status: 'pending' })).data;
      if (pending.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await operator.enrollmentRequests.deny(pending[0]!.id, { reason: 'not one of ours' });
    const error = await enrolling.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EnrollmentRefusedError);
    expect(error).toMatchObject({ status: 'denied', reason: 'not one of ours' });
  });

  it('refreshes an expired access token once, even when two calls race, and carries on', async () => {
    const saved: AgentCredentials[] = [];
    const agent = agentWith(saved);
    await agent.enroll({ code: autoCode, fingerprint: `agent-test:refresh-${machine}`, facts: facts() });
    await t.travel(16 * 60 * 1000);
    const beat = { status: 'ok' as const, agent_version: '1.0.0', uptime_seconds: 60 };
    const [first, second] = await Promise.all([agent.heartbeat(beat), agent.heartbeat(beat)]);
    expect(first.device_id).toBe(agent.deviceId);
    expect(second.device_id).toBe(agent.deviceId);
    expect(saved).toHaveLength(2);
    expect(saved[1]!.refresh_token).not.toBe(saved[0]!.refresh_token);
    // Had both calls refreshed, the second use of the old refresh token would have revoked everything.
    expect((await agent.heartbeat(beat)).status).toBe('online');
  });

  it('runs commands through handlers, and reports unknown types and throwing handlers as failed', async () => {
    const agent = agentWith();
    await agent.enroll({ code: autoCode, fingerprint: `agent-test:commands-${machine}`, facts: facts() });
    const handlers = {
      echo: async (command: { params: Record<string, unknown> }) => ({
        stdout: String(command.params.text).repeat(40),
      }),
      ping: async () => {
        throw new Error('the network stack is down');
      },
    };
    const send = (type: string, params: Record<string, unknown> = {}) =>
      operator.commands.create({ device_id: agent.deviceId!, type, params }, { wait_seconds: 0 });
    const echo = await send('echo', { text: 'x'.repeat(1000) });
    const ping = await send('ping');
    const reboot = await send('reboot');
    const delivered = await agent.pollCommands(0);
    expect(delivered.map((command) => command.id)).toEqual([echo.id, ping.id, reboot.id]);
    const outcomes = await Promise.all(delivered.map((command) => agent.execute(command, handlers)));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['succeeded', 'failed', 'failed']);
    expect(outcomes[0]).toMatchObject({ stdout_truncated: true });
    expect(outcomes[0]!.stdout).toHaveLength(32 * 1024);
    expect(outcomes[1]!.error).toBe('the network stack is down');
    expect(outcomes[2]!.error).toMatch(/does not support command type reboot/);
    expect((await operator.commands.get(echo.id)).status).toBe('succeeded');
    expect((await operator.commands.get(reboot.id)).status).toBe('failed');
  });

  it('run() stops when its signal aborts', async () => {
    const agent = agentWith();
    await agent.enroll({ code: autoCode, fingerprint: `agent-test:run-${machine}`, facts: facts() });
    const stop = new AbortController();
    const beats: number[] = [];
    const running = agent.run({
      signal: stop.signal,
      heartbeat: () => ({ status: 'ok', agent_version: '1.0.0', uptime_seconds: 1 }),
      handlers: {},
      onHeartbeat: () => beats.push(1),
    });
    await expect.poll(() => beats.length).toBeGreaterThan(0);
    stop.abort();
    await expect(running).resolves.toBeUndefined();
  });

  it("sends a screenshot from untyped bytes as the spec's image/jpeg, and reads it back as the same bytes", async () => {
    const agent = agentWith();
    await agent.enroll({ code: autoCode, fingerprint: `agent-test:screenshot-${machine}`, facts: facts() });
    const device = new Meridian({
      baseUrl: t.url,
      token: agent.credentials!.access_token,
      fetch: checkedFetch,
    });
    // A Blob without a type, as read from a file or a canvas buffer: the client supplies image/jpeg.
    await device.agent.uploadScreenshot(new Blob([new Uint8Array(TINY_JPEG)]));
    const listed = await operator.devices.listScreenshots(agent.deviceId!);
    expect(listed.data).toHaveLength(1);
    // And the operator gets the same bytes back, as a Blob.
    const latest = await operator.devices.getLatestScreenshot(agent.deviceId!);
    expect(latest).toBeInstanceOf(Blob);
    expect(Buffer.from(await latest.arrayBuffer()).equals(TINY_JPEG)).toBe(true);
  });

  it('follows the desired configuration, and reports inventory and events', async () => {
    const agent = agentWith();
    await agent.enroll({ code: autoCode, fingerprint: `agent-test:config-${machine}`, facts: facts() });
    const stop = new AbortController();
    const configs: AgentConfig[] = [];
    const running = agent.run({
      signal: stop.signal,
      heartbeat: () => ({ status: 'ok', agent_version: '1.0.0', uptime_seconds: 1 }),
      handlers: {},
      onConfig: (config) => void configs.push(config),
    });
    await expect.poll(() => configs.length).toBe(1);
    expect(configs[0]).toMatchObject({ device_id: agent.deviceId, processes: [] });
    stop.abort();
    await running;

    await agent.uploadInventory({
      hardware: { cpu_cores: 4, memory_bytes: 8_589_934_592 },
      software: [],
      services: [],
    });
    expect((await operator.devices.getInventory(agent.deviceId!)).hardware).toMatchObject({ cpu_cores: 4 });
    await agent.sendEvent({
      type: 'process_crash',
      severity: 'error',
      message: 'kiosk.exe exited with code 3',
    });
    const events = await operator.events.list({ device_id: agent.deviceId! });
    expect(events.data.map((event) => event.type)).toContain('agent.process_crash');
  });
});

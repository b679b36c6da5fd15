/**
 * Live state of a device through its agent: the process list (kept from the agent's last
 * `list_processes` answer, asked for again when older than the caller accepts, a refresh already
 * on its way joined rather than sent twice), terminating a process by PID and service actions as
 * commands, each refused on device types without them; and how monitored processes last ended,
 * from the agent's heartbeats. The agent here is simulated through the SDK; the reference agent
 * answers the same commands for real in examples/agent-live-state.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createMonitoredProcess,
  getCommand,
  getMonitoredProcess,
  listLiveProcesses,
  pollAgentCommands,
  registerDevice,
  reportAgentCommandResult,
  runServiceAction,
  sendAgentHeartbeat,
  terminateLiveProcess,
  type AgentProcessState,
  type LiveProcess,
} from '@meridian/sdk';
import { addAgent, type Agent } from './support/agents';
import { ok } from './support/server';
import { expectProblem } from './support/problem';
import { useTestServer } from './support/use-test-server';
import { addDevice, addMember, addSite, unique } from './support/world';

const t = useTestServer();
let agent: Agent;
let siteId: string;
let edgeId: string;

const KIOSK: LiveProcess = {
  pid: 7412,
  parent_pid: 1,
  name: 'TouchDesigner.exe',
  command_line: 'TouchDesigner.exe C:\\Shows\\lobby.toe',
  user: 'kiosk',
  cpu_percent: 37.5,
  memory_bytes: 1_843_200_000,
  started_at: '2026-11-02T08:00:03.000Z',
};

beforeAll(async () => {
  siteId = (await addSite(t)).id;
  agent = await addAgent(t, siteId);
  edgeId = ok(
    await registerDevice({
      client: t.admin,
      body: { name: unique('edge'), site_id: siteId, platform: 'linux', device_type: 'edge' },
    }),
  ).device.id;
});

/** The agent picks up its waiting commands. */
const poll = async () =>
  ok(await pollAgentCommands({ client: agent.client, query: { wait_seconds: 0, limit: 10 } })).data;

/** The one command the agent gets once an operator's call (still waiting) has sent it. */
async function nextCommand() {
  let found: Awaited<ReturnType<typeof poll>> = [];
  await expect
    .poll(async () => {
      found = await poll();
      return found.length;
    })
    .toBe(1);
  return found[0]!;
}

const answer = (commandId: string, body: Parameters<typeof reportAgentCommandResult>[0]['body']) =>
  reportAgentCommandResult({ client: agent.client, path: { command_id: commandId }, body });

const list = (query: { max_age_seconds?: number; wait_seconds?: number }, deviceId = agent.deviceId) =>
  listLiveProcesses({ client: t.admin, path: { device_id: deviceId }, query });

describe('the live process list', () => {
  it('is asked of the agent when there is none, then served from its answer while fresh enough', async () => {
    const first = await list({ wait_seconds: 0 });
    expect(first.response.status).toBe(202);
    expect(first.data).toMatchObject({ device_id: agent.deviceId, collected_at: null, processes: [] });
    const refresh = first.data!.refresh_command!;
    expect(refresh).toMatchObject({ type: 'list_processes', status: 'pending', params: {} });

    // Asked again before the agent answered: the same command, not a second one.
    expect((await list({ wait_seconds: 0 })).data!.refresh_command!.id).toBe(refresh.id);

    const [delivered] = await poll();
    expect(delivered).toMatchObject({ id: refresh.id, type: 'list_processes' });
    const junk = { pid: -4, name: '' };
    ok(
      await answer(refresh.id, {
        status: 'succeeded',
        duration_ms: 40,
        output: { processes: [KIOSK, junk, { pid: 812, name: 'sshd' }] },
      }),
    );
    const collectedAt = ok(
      await getCommand({ client: t.admin, path: { command_id: refresh.id } }),
    ).finished_at;

    await t.clock.advance(30_000);
    const fresh = await list({ max_age_seconds: 60 });
    expect(fresh.response.status).toBe(200);
    expect(fresh.data).toEqual({
      device_id: agent.deviceId,
      collected_at: collectedAt,
      processes: [KIOSK, { pid: 812, name: 'sshd' }],
      refresh_command: null,
    });
    expect(await poll()).toEqual([]);

    // Older than asked: a new refresh, the older list meanwhile.
    const stale = await list({ max_age_seconds: 10, wait_seconds: 0 });
    expect(stale.response.status).toBe(202);
    expect(stale.data).toMatchObject({ collected_at: collectedAt, processes: [KIOSK, { pid: 812 }] });
    expect(stale.data!.refresh_command!.id).not.toBe(refresh.id);
  });

  it('waits for the agent within wait_seconds and answers 200 with its new list', async () => {
    const waiting = list({ max_age_seconds: 0, wait_seconds: 30 });
    const delivered = await nextCommand();
    ok(
      await answer(delivered.id, {
        status: 'succeeded',
        duration_ms: 12,
        output: { processes: [{ ...KIOSK, cpu_percent: 1 }] },
      }),
    );
    const answered = await waiting;
    expect(answered.response.status).toBe(200);
    expect(answered.data!.processes).toEqual([{ ...KIOSK, cpu_percent: 1 }]);
    expect(answered.data!.refresh_command).toMatchObject({ id: delivered.id, status: 'succeeded' });
  });

  it('answers 202 with the older list and the failed command when the agent cannot list', async () => {
    const waiting = list({ max_age_seconds: 0, wait_seconds: 30 });
    const delivered = await nextCommand();
    ok(await answer(delivered.id, { status: 'failed', duration_ms: 3, error: 'ps: not found' }));
    const failed = await waiting;
    expect(failed.response.status).toBe(202);
    expect(failed.data!.processes).toEqual([{ ...KIOSK, cpu_percent: 1 }]);
    expect(failed.data!.refresh_command).toMatchObject({
      status: 'failed',
      result: { error: 'ps: not found' },
    });
  });

  it('is 409 live_state_unsupported for device types without it, 404 for devices out of reach', async () => {
    expectProblem(await list({}, edgeId), 409, 'live_state_unsupported');
    const outsider = await addMember(t, 'operator', [(await addSite(t)).id]);
    expectProblem(
      await listLiveProcesses({ client: outsider.client, path: { device_id: agent.deviceId } }),
      404,
      'not_found',
    );
  });
});

describe('terminating a process', () => {
  it('sends terminate_process with the PID, and answers 200 once the agent finished within wait_seconds', async () => {
    const queued = await terminateLiveProcess({
      client: t.admin,
      path: { device_id: agent.deviceId, pid: 7412 },
    });
    expect(queued.response.status).toBe(202);
    expect(queued.data).toMatchObject({
      type: 'terminate_process',
      params: { pid: 7412 },
      status: 'pending',
    });
    await poll();
    ok(await answer(queued.data!.id, { status: 'succeeded', duration_ms: 5 }));

    const waiting = terminateLiveProcess({
      client: t.admin,
      path: { device_id: agent.deviceId, pid: 812 },
      query: { wait_seconds: 30 },
    });
    const delivered = await nextCommand();
    ok(await answer(delivered.id, { status: 'failed', duration_ms: 5, error: 'No process has PID 812.' }));
    const finished = await waiting;
    expect(finished.response.status).toBe(200);
    expect(finished.data).toMatchObject({ status: 'failed', result: { error: 'No process has PID 812.' } });
  });

  it('is 409 on device types without it and 404 for an unknown device', async () => {
    expectProblem(
      await terminateLiveProcess({ client: t.admin, path: { device_id: edgeId, pid: 1 } }),
      409,
      'live_state_unsupported',
    );
    expectProblem(
      await terminateLiveProcess({
        client: t.admin,
        path: { device_id: 'dev_01JD2M7T4X9K3QH5W8N6R2B4CZ', pid: 1 },
      }),
      404,
      'not_found',
    );
  });
});

describe('service actions', () => {
  it('send start_service, stop_service or restart_service for the named service', async () => {
    const server = ok(
      await registerDevice({
        client: t.admin,
        body: { name: unique('server'), site_id: siteId, platform: 'linux', device_type: 'server' },
      }),
    ).device;
    for (const action of ['start', 'stop', 'restart'] as const) {
      const sent = await runServiceAction({
        client: t.admin,
        path: { device_id: server.id, service_name: 'nginx.service' },
        body: { action },
      });
      expect(sent.response.status).toBe(202);
      expect(sent.data).toMatchObject({
        device_id: server.id,
        type: `${action}_service`,
        params: { service_name: 'nginx.service' },
        status: 'pending',
        timeout_seconds: 300,
      });
    }
  });

  it('answers 200 with the finished command when the agent answers within wait_seconds', async () => {
    const waiting = runServiceAction({
      client: t.admin,
      path: { device_id: agent.deviceId, service_name: 'getty@tty1.service' },
      query: { wait_seconds: 30 },
      body: { action: 'restart' },
    });
    const delivered = await nextCommand();
    expect(delivered.params).toEqual({ service_name: 'getty@tty1.service' });
    ok(await answer(delivered.id, { status: 'succeeded', exit_code: 0, duration_ms: 900 }));
    expect((await waiting).response.status).toBe(200);
  });

  it('is 409 services_unsupported on device types without services, 404 for devices out of reach', async () => {
    expectProblem(
      await runServiceAction({
        client: t.admin,
        path: { device_id: edgeId, service_name: 'nginx' },
        body: { action: 'stop' },
      }),
      409,
      'services_unsupported',
    );
    const viewerOfOther = await addMember(t, 'operator', [(await addSite(t)).id]);
    expectProblem(
      await runServiceAction({
        client: viewerOfOther.client,
        path: { device_id: (await addDevice(t, siteId)).id, service_name: 'nginx' },
        body: { action: 'stop' },
      }),
      404,
      'not_found',
    );
  });
});

describe('monitored processes', () => {
  it('show how they last ended from the heartbeats, kept while later reports say nothing of it', async () => {
    const process = ok(
      await createMonitoredProcess({
        client: t.admin,
        path: { device_id: agent.deviceId },
        body: { name: unique('kiosk'), executable_path: '/usr/bin/kiosk' },
      }),
    );
    expect(process.last_exit).toBeNull();
    const report = (state: Omit<AgentProcessState, 'process_id'>) =>
      sendAgentHeartbeat({
        client: agent.client,
        body: {
          status: 'ok',
          agent_version: '1.0.0',
          uptime_seconds: 60,
          processes: [{ process_id: process.id, ...state }],
        },
      });
    const exitedAt = new Date(t.clock.now().getTime() - 2000).toISOString();
    ok(
      await report({
        state: 'crashed',
        restart_count: 2,
        last_exit: { exit_code: null, signal: 'SIGSEGV', exited_at: exitedAt },
      }),
    );
    const read = async () =>
      ok(
        await getMonitoredProcess({
          client: t.admin,
          path: { device_id: agent.deviceId, process_id: process.id },
        }),
      );
    expect(await read()).toMatchObject({
      state: 'crashed',
      restart_count: 2,
      last_exit: { exit_code: null, signal: 'SIGSEGV', exited_at: exitedAt },
    });
    await t.clock.advance(5000);
    ok(await report({ state: 'running', pid: 4242, restart_count: 3 }));
    expect(await read()).toMatchObject({
      state: 'running',
      pid: 4242,
      restart_count: 3,
      last_exit: { exit_code: null, signal: 'SIGSEGV', exited_at: exitedAt },
    });
  });
});

/**
 * Device types and commands: the catalogue and its params schemas, the lifecycle pending →
 * delivered → running → succeeded | failed | cancelled | expired, the agent's long-poll (which
 * answers as soon as a command is queued) and the operator's wait. Every wait runs on the test
 * clock: a test either triggers the wake-up itself or advances the clock past the deadline.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  cancelCommand,
  clearPendingCommands,
  createCommand,
  enrollAgent,
  getCommand,
  getDeviceType,
  listCommands,
  listDeviceTypes,
  listEvents,
  pollAgentCommands,
  registerDevice,
  reportAgentCommandProgress,
  reportAgentCommandResult,
  sendAgentHeartbeat,
  updateDevice,
  type AgentCommand,
  type CommandCreate,
} from '@meridian/sdk';
import { addAgent, addCode, facts, newFingerprint, type Agent } from './support/agents';
import { ok } from './support/server';
import { expectProblem } from './support/problem';
import { useTestServer } from './support/use-test-server';
import { addDevice, addMember, addSite } from './support/world';

const t = useTestServer();
let agent: Agent;
beforeAll(async () => {
  agent = await addAgent(t, (await addSite(t)).id);
});

const send = (body: Partial<CommandCreate> = {}, waitSeconds?: number) =>
  createCommand({
    client: t.admin,
    body: { device_id: agent.deviceId, type: 'echo', params: { text: 'hi' }, ...body },
    ...(waitSeconds === undefined ? {} : { query: { wait_seconds: waitSeconds } }),
  });
const queue = async (body: Partial<CommandCreate> = {}) => ok(await send(body));
const poll = async (of: Agent = agent) => ok(await pollAgentCommands({ client: of.client })).data;
const finish = (id: string, status: 'succeeded' | 'failed' = 'succeeded', of: Agent = agent) =>
  reportAgentCommandResult({
    client: of.client,
    path: { command_id: id },
    body: {
      status,
      exit_code: status === 'succeeded' ? 0 : 3,
      stdout: 'out',
      stderr: status === 'failed' ? 'boom' : '',
      duration_ms: 40,
    },
  });
/** Takes every command waiting for the agent, so a test starts with an empty queue. */
const drain = async () => {
  for (const command of await poll()) await finish(command.id);
};
const eventTypes = async (commandId: string) =>
  ok(await listEvents({ client: t.admin, query: { device_id: agent.deviceId, limit: 500 } }))
    .data.filter((e) => e.data.command_id === commandId)
    .map((e) => e.type);

describe('the device type catalogue', () => {
  it('lists workstations, servers, edge nodes and relays with their command types and params schemas', async () => {
    const types = ok(await listDeviceTypes({ client: t.admin }));
    expect(types.next_cursor).toBeNull();
    expect(types.data.map((type) => type.id)).toEqual(['workstation', 'server', 'edge', 'relay']);
    const relay = ok(await getDeviceType({ client: t.admin, path: { device_type: 'relay' } }));
    expect(relay.command_types.map((c) => c.name)).toContain('authorize_tunnel');
    expect(relay.command_types.find((c) => c.name === 'close_tunnel')!.params_schema).toMatchObject({
      type: 'object',
      required: ['tunnel_id'],
      additionalProperties: false,
    });
    const missing = await getDeviceType({ client: t.admin, path: { device_type: 'toaster' } });
    expect(missing.response.status).toBe(404);
  });

  it('gives devices a type (workstation by default), chosen at registration or enrolment and changeable; unknown types are 422', async () => {
    const site = await addSite(t);
    expect((await addDevice(t, site.id)).device_type).toBe('workstation');
    const relay = ok(
      await registerDevice({
        client: t.admin,
        body: { name: 'Relay 1', site_id: site.id, platform: 'linux', device_type: 'relay' },
      }),
    ).device;
    expect(relay.device_type).toBe('relay');
    expect(
      ok(
        await updateDevice({ client: t.admin, path: { device_id: relay.id }, body: { device_type: 'edge' } }),
      ).device_type,
    ).toBe('edge');
    for (const refused of [
      await registerDevice({
        client: t.admin,
        body: { name: 'Toaster', site_id: site.id, platform: 'linux', device_type: 'toaster' },
      }),
      await updateDevice({
        client: t.admin,
        path: { device_id: relay.id },
        body: { device_type: 'toaster' },
      }),
      await enrollAgent({
        client: t.client(),
        body: {
          code: await addCode(t, site.id),
          fingerprint: newFingerprint(),
          facts: facts({ device_type: 'toaster' }),
        },
      }),
    ]) {
      expectProblem(refused, 422, 'unknown_device_type');
    }
  });
});

describe('creating a command', () => {
  it("checks the type against the device's type and the params against the command type's schema (422, naming each problem)", async () => {
    const unsupported = await send({ type: 'close_tunnel', params: { tunnel_id: 't1' } });
    expectProblem(unsupported, 422, 'unsupported_command_type');
    const invalid = await send({ type: 'restart_process', params: { process_name: 42, force: true } });
    expectProblem(invalid, 422, 'invalid_command_params');
    expect((invalid.error as { errors: { path: string }[] }).errors.map((e) => e.path).sort()).toEqual([
      '/body/params/force',
      '/body/params/process_name',
    ]);
    const missing = await send({ type: 'restart_process', params: {} });
    expect((missing.error as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual([
      '/body/params/process_name',
    ]);
    expect(
      ok(
        await listCommands({
          client: t.admin,
          query: { device_id: agent.deviceId, type: 'restart_process' },
        }),
      ).data,
    ).toEqual([]);
  });

  it('refuses devices that do not exist or that the operator cannot see (422 unknown_device)', async () => {
    const operator = await addMember(t, 'operator', [(await addSite(t)).id]);
    for (const deviceId of [agent.deviceId, 'dev_01JD2M7T4X9K3QH5W8N6R2B4CZ']) {
      const refused = await createCommand({
        client: operator.client,
        body: { device_id: deviceId, type: 'ping' },
      });
      expectProblem(refused, 422, 'unknown_device');
    }
  });

  it('queues it (202) with the type default timeout, and the heartbeat announces it', async () => {
    await drain();
    const result = await send({ type: 'restart_process', params: { process_name: 'TouchDesigner' } });
    expect(result.response.status).toBe(202);
    const command = result.data!;
    expect(command).toMatchObject({
      status: 'pending',
      device_id: agent.deviceId,
      timeout_seconds: 120,
      delivered_at: null,
      result: null,
    });
    expect(Date.parse(command.expires_at) - Date.parse(command.created_at)).toBe(120_000);
    expect(
      ok(
        await sendAgentHeartbeat({
          client: agent.client,
          body: { status: 'ok', agent_version: '1', uptime_seconds: 1 },
        }),
      ).pending_commands,
    ).toBe(1);
    await drain();
  });
});

describe('the lifecycle', () => {
  it('goes pending → delivered → running → succeeded, keeping progress and the result', async () => {
    await drain();
    const queued = await queue({ type: 'run_shell', params: { command: 'uptime' }, timeout_seconds: 600 });
    const [delivered] = await poll();
    expect(delivered).toMatchObject({
      id: queued.id,
      type: 'run_shell',
      params: { command: 'uptime' },
      timeout_seconds: 600,
      expires_at: queued.expires_at,
    } satisfies Partial<AgentCommand>);
    expect(await poll()).toEqual([]);
    expect(ok(await getCommand({ client: t.admin, path: { command_id: queued.id } })).status).toBe(
      'delivered',
    );
    const progress = ok(
      await reportAgentCommandProgress({
        client: agent.client,
        path: { command_id: queued.id },
        body: { percent: 30, message: 'Running uptime' },
      }),
    );
    expect(progress).toEqual({ id: queued.id, status: 'running' });
    expect(ok(await getCommand({ client: t.admin, path: { command_id: queued.id } }))).toMatchObject({
      status: 'running',
      progress_percent: 30,
      progress_message: 'Running uptime',
    });
    const done = ok(
      await reportAgentCommandResult({
        client: agent.client,
        path: { command_id: queued.id },
        body: {
          status: 'succeeded',
          exit_code: 0,
          stdout: ' 10:00 up 3 days',
          stdout_truncated: true,
          duration_ms: 120,
          output: { load: [0.1, 0.2, 0.3] },
        },
      }),
    );
    expect(done).toEqual({ id: queued.id, status: 'succeeded' });
    const read = ok(await getCommand({ client: t.admin, path: { command_id: queued.id } }));
    expect(read).toMatchObject({
      status: 'succeeded',
      finished_at: expect.any(String),
      started_at: expect.any(String),
      delivered_at: expect.any(String),
      result: {
        exit_code: 0,
        stdout: ' 10:00 up 3 days',
        stderr: '',
        stdout_truncated: true,
        stderr_truncated: false,
        duration_ms: 120,
        output: { load: [0.1, 0.2, 0.3] },
        error: null,
      },
    });
    for (const late of [
      await reportAgentCommandProgress({
        client: agent.client,
        path: { command_id: queued.id },
        body: { percent: 99 },
      }),
      await finish(queued.id),
    ]) {
      expectProblem(late, 409, 'command_finished');
    }
  });

  it('records a failed command as a command.failed event', async () => {
    await drain();
    const queued = await queue();
    await poll();
    expect(ok(await finish(queued.id, 'failed')).status).toBe('failed');
    expect(ok(await getCommand({ client: t.admin, path: { command_id: queued.id } })).result).toMatchObject({
      exit_code: 3,
      stderr: 'boom',
    });
    expect(await eventTypes(queued.id)).toEqual(['command.failed']);
  });

  it('expires a command not finished within its timeout, and refuses its late result (409 command_expired)', async () => {
    await drain();
    const queued = await queue({ timeout_seconds: 30 });
    await poll();
    await t.travel(31_000);
    expect(ok(await getCommand({ client: t.admin, path: { command_id: queued.id } })).status).toBe('expired');
    expect(await eventTypes(queued.id)).toEqual(['command.expired']);
    const late = await finish(queued.id);
    expectProblem(late, 409, 'command_expired');
  });

  it("lets an agent touch only its own device's commands (404)", async () => {
    await drain();
    const queued = await queue();
    const stranger = await addAgent(t, (await addSite(t)).id);
    for (const refused of [
      await reportAgentCommandProgress({
        client: stranger.client,
        path: { command_id: queued.id },
        body: {},
      }),
      await finish(queued.id, 'succeeded', stranger),
    ]) {
      expect(refused.response.status).toBe(404);
    }
    expect(await poll(stranger)).toEqual([]);
    await drain();
  });
});

describe('cancelling', () => {
  it('keeps a cancelled pending command from being delivered, and tells a working agent to stop (409 command_cancelled)', async () => {
    await drain();
    const pending = await queue();
    expect(ok(await cancelCommand({ client: t.admin, path: { command_id: pending.id } }))).toMatchObject({
      status: 'cancelled',
      finished_at: expect.any(String),
    });
    expect(await poll()).toEqual([]);
    const working = await queue();
    await poll();
    ok(await cancelCommand({ client: t.admin, path: { command_id: working.id } }));
    const told = await reportAgentCommandProgress({
      client: agent.client,
      path: { command_id: working.id },
      body: { percent: 10 },
    });
    expectProblem(told, 409, 'command_cancelled');
    const again = await cancelCommand({ client: t.admin, path: { command_id: working.id } });
    expectProblem(again, 409, 'command_cancelled');
  });

  it("clears a device's pending commands, leaving delivered ones alone", async () => {
    await drain();
    const delivered = await queue();
    await poll();
    const first = await queue();
    const second = await queue();
    const cleared = ok(await clearPendingCommands({ client: t.admin, path: { device_id: agent.deviceId } }));
    expect(cleared).toEqual({ cancelled_count: 2, command_ids: [first.id, second.id] });
    expect(ok(await getCommand({ client: t.admin, path: { command_id: delivered.id } })).status).toBe(
      'delivered',
    );
    expect(
      ok(await clearPendingCommands({ client: t.admin, path: { device_id: agent.deviceId } }))
        .cancelled_count,
    ).toBe(0);
    await finish(delivered.id);
  });
});

describe('waiting', () => {
  it('the agent long-poll answers as soon as a command is queued, without the clock moving', async () => {
    await drain();
    const polling = pollAgentCommands({ client: agent.client, query: { wait_seconds: 30 } });
    await t.clock.waitingOn('agent-commands');
    const queued = await queue({ type: 'ping', params: {} });
    const answer = ok(await polling);
    expect(answer.data.map((c) => c.id)).toEqual([queued.id]);
    await finish(queued.id);
  });

  it('the agent long-poll answers with nothing once wait_seconds pass', async () => {
    await drain();
    const polling = pollAgentCommands({ client: agent.client, query: { wait_seconds: 10 } });
    await t.clock.waitingOn('agent-commands');
    await t.clock.advance(10_000);
    expect(ok(await polling).data).toEqual([]);
  });

  it('wait_seconds on creation answers 200 with the finished command as soon as the agent reports it', async () => {
    await drain();
    const creating = send({ type: 'ping', params: {} }, 30);
    await t.clock.waitingOn('command-wait');
    const [command] = await poll();
    await finish(command!.id);
    const answer = await creating;
    expect(answer.response.status).toBe(200);
    expect(answer.data).toMatchObject({ id: command!.id, status: 'succeeded', result: { exit_code: 0 } });
  });

  it('wait_seconds on creation still answers 202 when the command has not finished in time', async () => {
    await drain();
    const creating = send({ type: 'ping', params: {} }, 5);
    await t.clock.waitingOn('command-wait');
    await t.clock.advance(5_000);
    const answer = await creating;
    expect(answer.response.status).toBe(202);
    expect(answer.data!.status).toBe('pending');
    await drain();
  });
});

describe('listing', () => {
  it('filters by device, site, status and type, and shows operators only the commands of their sites', async () => {
    const site = await addSite(t);
    const other = await addAgent(t, site.id);
    const operator = await addMember(t, 'operator', [site.id]);
    await drain();
    const ping = ok(
      await createCommand({ client: operator.client, body: { device_id: other.deviceId, type: 'ping' } }),
    );
    const echo = ok(
      await createCommand({
        client: operator.client,
        body: { device_id: other.deviceId, type: 'echo', params: { text: 'x' } },
      }),
    );
    await poll(other).then(([first]) => finish(first!.id, 'succeeded', other));
    const ids = async (query: NonNullable<Parameters<typeof listCommands>[0]>['query'], client = t.admin) =>
      ok(await listCommands({ client, query })).data.map((c) => c.id);
    expect(await ids({ device_id: other.deviceId })).toEqual([ping.id, echo.id]);
    expect(await ids({ site_id: site.id, status: 'succeeded' })).toEqual([ping.id]);
    expect(await ids({ device_id: other.deviceId, type: 'echo', status: 'delivered' })).toEqual([echo.id]);
    expect(await ids({ limit: 500 }, operator.client)).toEqual([ping.id, echo.id]);
    const first = ok(await listCommands({ client: t.admin, query: { device_id: other.deviceId, limit: 1 } }));
    const second = ok(
      await listCommands({
        client: t.admin,
        query: { device_id: other.deviceId, limit: 1, cursor: first.next_cursor! },
      }),
    );
    expect([...first.data, ...second.data].map((c) => c.id)).toEqual([ping.id, echo.id]);
    expect(second.next_cursor).toBeNull();
    const hidden = await queue();
    expect(
      (await getCommand({ client: operator.client, path: { command_id: hidden.id } })).response.status,
    ).toBe(404);
    await drain();
  });
});

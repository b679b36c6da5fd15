/**
 * Process states and process_down rules on the TestClock: agents report their monitored
 * processes in heartbeats, the process shows the latest state, transitions raise
 * process.started / process.stopped, and a rule opens one incident once a process has not been
 * running for its duration and resolves it when it runs again.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import {
  createAlertRule,
  createMonitoredProcess,
  getAgentConfig,
  getMonitoredProcess,
  listEvents,
  listIncidents,
  previewAlertRule,
  sendAgentHeartbeat,
  updateAlertRule,
  type AgentProcessState,
  type AlertRuleCreate,
  type MonitoredProcess,
} from '@meridian/sdk';
import { addAgent, type Agent } from './support/agents';
import { expectProblem } from './support/problem';
import { ok } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addSite } from './support/world';

const t = useTestServer({ fleet: { accessTokenTtlSeconds: 24 * 60 * 60 } });
const SWEEP_MS = 30_000;

let siteId: string;
let agent: Agent;
let show: MonitoredProcess;
beforeEach(async () => {
  siteId = (await addSite(t)).id;
  agent = await addAgent(t, siteId);
  show = await addProcess(agent, 'TouchDesigner');
});

async function addProcess(owner: Agent, name: string) {
  return ok(
    await createMonitoredProcess({
      client: t.admin,
      path: { device_id: owner.deviceId },
      body: { name, executable_path: 'C:\\TD\\TouchDesigner.exe' },
    }),
  );
}

const report = async (processes: AgentProcessState[], owner: Agent = agent) =>
  ok(
    await sendAgentHeartbeat({
      client: owner.client,
      body: { status: 'ok', agent_version: '1.0.0', uptime_seconds: 60, processes },
    }),
  );
const stateOf = (state: AgentProcessState['state'], extra: Partial<AgentProcessState> = {}) => [
  { process_id: show.id, state, ...extra },
];
const processNow = async (process = show, owner = agent) =>
  ok(
    await getMonitoredProcess({
      client: t.admin,
      path: { device_id: owner.deviceId, process_id: process.id },
    }),
  );
/** Lets `ms` pass sweep by sweep, reporting `processes` first at each step. */
async function elapse(ms: number, processes: () => AgentProcessState[]) {
  for (let passed = 0; passed < ms; passed += SWEEP_MS) {
    await report(processes());
    await t.clock.advance(SWEEP_MS);
  }
}
const addRule = async (body: Partial<AlertRuleCreate> = {}) =>
  ok(
    await createAlertRule({
      client: t.admin,
      body: {
        name: 'Show down',
        kind: 'process_down',
        process_name: 'touchdesigner',
        duration_minutes: 5,
        scope: { site_ids: [siteId] },
        ...body,
      },
    }),
  );
const incidentsOf = async (ruleId: string) =>
  ok(await listIncidents({ client: t.admin, query: { rule_id: ruleId } })).data;
const processEvents = async (owner = agent) =>
  (
    await Promise.all(
      ['process.started', 'process.stopped'].map(
        async (type) =>
          ok(await listEvents({ client: t.admin, query: { device_id: owner.deviceId, type } })).data,
      ),
    )
  )
    .flat()
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((event) => [event.type, event.severity, event.data.state, event.data.previous_state]);
const preview = async (body: Partial<AlertRuleCreate> = {}) =>
  ok(
    await previewAlertRule({
      client: t.admin,
      body: {
        name: 'Show down',
        kind: 'process_down',
        process_name: 'TouchDesigner',
        duration_minutes: 5,
        scope: { site_ids: [siteId] },
        ...body,
      },
    }),
  ).devices.map((device) => device.device_id);

describe('process states in heartbeats', () => {
  it('are kept per monitored process, with the time it last started or stopped running, and raise events', async () => {
    expect(await processNow()).toMatchObject({
      state: null,
      pid: null,
      restart_count: null,
      state_changed_at: null,
      reported_at: null,
    });
    const first = await report(stateOf('running', { pid: 4242, restart_count: 0 }));
    const started = first.server_time;
    expect(await processNow()).toMatchObject({
      state: 'running',
      pid: 4242,
      restart_count: 0,
      state_changed_at: started,
      reported_at: started,
    });

    await t.clock.advance(60_000);
    const second = await report(stateOf('running', { pid: 4242, restart_count: 0 }));
    expect(await processNow()).toMatchObject({ state_changed_at: started, reported_at: second.server_time });

    // The agent saw it crash 10 s ago: that time counts, as it is after the previous report.
    await t.clock.advance(60_000);
    const crashedAt = new Date(t.clock.now().getTime() - 10_000).toISOString();
    await report(stateOf('crashed', { restart_count: 0, since: crashedAt }));
    // Restarting in a loop keeps the time it stopped running.
    await t.clock.advance(30_000);
    const { config_version: versionAfter } = await report(stateOf('starting', { restart_count: 1 }));
    expect(await processNow()).toMatchObject({
      state: 'starting',
      pid: null,
      restart_count: 1,
      state_changed_at: crashedAt,
    });
    // A report only changes the state, never the settings' version.
    expect(versionAfter).toBe(first.config_version);
    const config = ok(await getAgentConfig({ client: agent.client }));
    expect(config.version).toBe(first.config_version);
    expect(config.processes[0]).toMatchObject({ id: show.id, state: 'starting', restart_count: 1 });

    // A `since` before the previous report, or in the future, is not believed.
    await t.clock.advance(30_000);
    const restarted = await report(stateOf('running', { pid: 5000, since: started }));
    expect((await processNow()).state_changed_at).toBe(restarted.server_time);
    await t.clock.advance(30_000);
    const idle = await report(
      stateOf('idle', { since: new Date(t.clock.now().getTime() + 60_000).toISOString() }),
    );
    expect((await processNow()).state_changed_at).toBe(idle.server_time);

    expect(await processEvents()).toEqual([
      ['process.started', 'info', 'running', null],
      ['process.stopped', 'warning', 'crashed', 'running'],
      ['process.started', 'info', 'running', 'starting'],
      ['process.stopped', 'info', 'idle', 'running'],
    ]);
  });

  it('count the last entry of a process, ignore processes that are not the device’s, and stop at 500', async () => {
    const other = await addAgent(t, siteId);
    const foreign = await addProcess(other, 'Unity');
    await report([
      { process_id: show.id, state: 'running', pid: 1 },
      { process_id: foreign.id, state: 'crashed' },
      { process_id: 'prc_01JD6A3C5E7G9J1K3N5Q7S9T1W', state: 'crashed' },
      { process_id: show.id, state: 'stopped' },
    ]);
    expect(await processNow()).toMatchObject({ state: 'stopped', pid: null });
    expect((await processNow(foreign, other)).state).toBeNull();
    expect(await processEvents()).toEqual([['process.stopped', 'warning', 'stopped', null]]);

    const tooMany = Array.from({ length: 501 }, () => ({ process_id: show.id, state: 'running' as const }));
    expectProblem(
      await sendAgentHeartbeat({
        client: agent.client,
        body: { status: 'ok', agent_version: '1.0.0', uptime_seconds: 60, processes: tooMany },
      }),
      400,
      'validation_failed',
    );
    expectProblem(
      await sendAgentHeartbeat({
        client: agent.client,
        body: {
          status: 'ok',
          agent_version: '1.0.0',
          uptime_seconds: 60,
          processes: [{ process_id: show.id, state: 'asleep' as 'idle' }],
        },
      }),
      400,
      'validation_failed',
    );
    expect((await processNow()).state).toBe('stopped');
  });
});

describe('evaluating process_down rules', () => {
  it('opens one incident once the process has not been running for the duration, and resolves it when it runs', async () => {
    const rule = await addRule();
    await elapse(2 * 60_000, () => stateOf('running', { pid: 10 }));
    expect(await incidentsOf(rule.id)).toEqual([]);

    // Crashing and restarting in a loop: down all along, although the state keeps changing.
    let beat = 0;
    const crashLoop = () => stateOf(beat++ % 2 === 0 ? 'crashed' : 'starting', { restart_count: beat });
    await elapse(4.5 * 60_000, crashLoop);
    expect(await incidentsOf(rule.id)).toEqual([]);
    expect(await preview()).toEqual([]);
    await elapse(60_000, crashLoop);
    const [incident, ...others] = await incidentsOf(rule.id);
    expect(others).toEqual([]);
    expect(incident).toMatchObject({
      device_id: agent.deviceId,
      state: 'open',
      severity: 'warning',
      summary: expect.stringMatching(/: TouchDesigner has not been running for 5 minutes\.$/),
    });
    expect(await preview()).toEqual([agent.deviceId]);
    expect(await preview({ process_name: undefined, process_id: show.id })).toEqual([agent.deviceId]);
    await elapse(3 * 60_000, crashLoop);
    expect(await incidentsOf(rule.id)).toHaveLength(1);

    await elapse(SWEEP_MS, () => stateOf('running', { pid: 11 }));
    expect(await incidentsOf(rule.id)).toMatchObject([{ id: incident!.id, state: 'resolved' }]);
    expect(await preview()).toEqual([]);
  });

  it('leaves idle processes, processes of another name and devices that stopped reporting alone', async () => {
    const rule = await addRule({ duration_minutes: 1 });
    const byId = await addRule({ process_name: undefined, process_id: show.id, duration_minutes: 1 });
    const other = await addRule({ process_name: 'Unity', duration_minutes: 1 });
    await elapse(3 * 60_000, () => stateOf('idle'));
    expect(await incidentsOf(rule.id)).toEqual([]);

    await elapse(2 * 60_000, () => stateOf('stopped'));
    expect(await incidentsOf(rule.id)).toHaveLength(1);
    expect(await incidentsOf(byId.id)).toHaveLength(1);
    expect(await incidentsOf(other.id)).toEqual([]);

    // The agent goes quiet: whether the device is offline is for device_offline rules.
    await t.clock.advance(3 * 60_000);
    await t.server.sweep();
    expect(await incidentsOf(rule.id)).toMatchObject([{ state: 'resolved' }]);
    expect(await preview({ duration_minutes: 1 })).toEqual([]);
  });

  it('follow scope, exclusions and severity like the other kinds', async () => {
    const second = await addAgent(t, siteId);
    const secondShow = await addProcess(second, 'touchdesigner');
    const rule = await addRule({
      severity: 'critical',
      duration_minutes: 1,
      excluded_device_ids: [agent.deviceId],
    });
    const elsewhere = await addRule({ duration_minutes: 1, scope: { site_ids: [(await addSite(t)).id] } });
    for (let step = 0; step < 5; step++) {
      await report(stateOf('stopped'));
      await report([{ process_id: secondShow.id, state: 'stopped' }], second);
      await t.clock.advance(SWEEP_MS);
    }
    expect(await incidentsOf(rule.id)).toMatchObject([{ device_id: second.deviceId, severity: 'critical' }]);
    expect(await incidentsOf(elsewhere.id)).toEqual([]);
    expect(await preview({ duration_minutes: 1 })).toEqual([agent.deviceId, second.deviceId].sort());
  });
});

describe('process_down rules', () => {
  it('need exactly one of process_name and process_id, a process that exists, and sensible minutes', async () => {
    const body = { name: 'Show down', kind: 'process_down' } as const;
    const neither = expectProblem(
      await createAlertRule({ client: t.admin, body }),
      422,
      'rule_parameters_invalid',
    );
    expect(neither.errors?.map((issue) => issue.path)).toEqual(['/body/process_name']);
    expectProblem(
      await createAlertRule({
        client: t.admin,
        body: { ...body, process_name: 'TouchDesigner', process_id: show.id },
      }),
      422,
      'rule_parameters_invalid',
    );
    const foreign = expectProblem(
      await createAlertRule({
        client: t.admin,
        body: { name: 'Offline', kind: 'device_offline', process_name: 'TouchDesigner' },
      }),
      422,
      'rule_parameters_invalid',
    );
    expect(foreign.errors?.map((issue) => issue.path)).toEqual(['/body/process_name']);
    expectProblem(
      await previewAlertRule({
        client: t.admin,
        body: { ...body, process_id: 'prc_01JD6A3C5E7G9J1K3N5Q7S9T1W' },
      }),
      422,
      'unknown_monitored_process',
    );
    for (const duration_minutes of [0, 10081, 1.5])
      expectProblem(
        await createAlertRule({ client: t.admin, body: { ...body, process_name: 'TD', duration_minutes } }),
        400,
        'validation_failed',
      );

    // Switching a rule from a name to one process: set one, clear the other.
    const rule = await addRule();
    expectProblem(
      await updateAlertRule({ client: t.admin, path: { rule_id: rule.id }, body: { process_id: show.id } }),
      422,
      'rule_parameters_invalid',
    );
    expect(
      ok(
        await updateAlertRule({
          client: t.admin,
          path: { rule_id: rule.id },
          body: { process_id: show.id, process_name: null },
        }),
      ),
    ).toMatchObject({ kind: 'process_down', process_id: show.id, process_name: null });
  });
});

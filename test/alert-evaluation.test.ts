/**
 * The evaluator on the TestClock (it runs with every sweep): an incident opens once per rule and
 * device while the condition holds, resolves by itself when it clears, and a condition that
 * comes back within the flap window reopens the same incident instead of opening another — for
 * device_offline, metric_threshold and event_match rules. Incidents raise incident.opened and
 * incident.resolved events.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import {
  createAlertRule,
  deleteAlertRule,
  listEvents,
  sendAgentEvent,
  sendAgentHeartbeat,
  updateAlertRule,
  type AlertRuleCreate,
  type Event,
} from '@meridian/sdk';
import { addAgent, type Agent } from './support/agents';
import { ok } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addSite } from './support/world';

// Agents' access tokens outlast these tests' hours, so heartbeats need no refreshing.
const t = useTestServer({ fleet: { accessTokenTtlSeconds: 24 * 60 * 60 } });
const SWEEP_MS = 30_000;

/** Lets `ms` pass sweep by sweep, sending the agent's heartbeat first at each step if given. */
async function elapse(ms: number, beat?: () => Promise<unknown>) {
  for (let passed = 0; passed < ms; passed += SWEEP_MS) {
    if (beat) await beat();
    await t.clock.advance(SWEEP_MS);
  }
}

let agent: Agent;
let siteId: string;
beforeEach(async () => {
  siteId = (await addSite(t)).id;
  agent = await addAgent(t, siteId);
});

const heartbeat =
  (cpu = 10) =>
  async () =>
    ok(
      await sendAgentHeartbeat({
        client: agent.client,
        body: {
          status: 'ok',
          agent_version: '1.0.0',
          uptime_seconds: 60,
          metrics: { cpu_percent: cpu, memory_percent: 40, disk_percent: 30 },
        },
      }),
    );
const addRule = async (body: Omit<AlertRuleCreate, 'name'>) =>
  ok(
    await createAlertRule({
      client: t.admin,
      body: { name: 'Watch', scope: { site_ids: [siteId] }, ...body },
    }),
  );
/** The incident events of the agent's device, oldest first, as [type, incident ID, reopened]. */
const incidentEvents = async () =>
  (
    await Promise.all(
      ['incident.opened', 'incident.resolved'].map(
        async (type) =>
          ok(await listEvents({ client: t.admin, query: { device_id: agent.deviceId, type } })).data,
      ),
    )
  )
    .flat()
    .sort((a: Event, b: Event) => a.id.localeCompare(b.id))
    .map((event) => [event.type, String(event.data.incident_id), event.data.reopened === true] as const);

describe('evaluating device_offline rules', () => {
  it('opens one incident while the device is offline, resolves it when it is back, and reopens it on a flap', async () => {
    await addRule({ kind: 'device_offline', duration_minutes: 1, severity: 'critical' });
    await heartbeat()();
    await elapse(6 * 60_000);
    const [opened] = await incidentEvents();
    expect(opened).toEqual(['incident.opened', expect.stringMatching(/^inc_/), false]);
    const id = opened![1];
    const openedEvent = ok(
      await listEvents({ client: t.admin, query: { device_id: agent.deviceId, type: 'incident.opened' } }),
    ).data[0]!;
    expect(openedEvent).toMatchObject({ severity: 'critical', site_id: siteId, data: { state: 'open' } });

    // Back: resolved at the next sweep. Gone again within the flap window: the same incident reopens.
    await elapse(SWEEP_MS, heartbeat());
    await elapse(5 * 60_000);
    expect(await incidentEvents()).toEqual([
      ['incident.opened', id, false],
      ['incident.resolved', id, false],
      ['incident.opened', id, true],
    ]);

    // Back for longer than the flap window, then gone: a new incident.
    await elapse(7 * 60_000, heartbeat());
    await elapse(5 * 60_000);
    const events = await incidentEvents();
    expect(events.slice(3, 4)).toEqual([['incident.resolved', id, false]]);
    expect(events[4]).toEqual(['incident.opened', expect.not.stringMatching(id), false]);
    expect(events).toHaveLength(5);
  });
});

describe('evaluating metric_threshold rules', () => {
  it('opens an incident when the metric stays above the threshold for the duration, resolves it below, reopens it on a flap', async () => {
    await addRule({
      kind: 'metric_threshold',
      metric: 'cpu_percent',
      threshold_percent: 90,
      duration_minutes: 2,
    });
    await elapse(90_000, heartbeat(95));
    expect(await incidentEvents()).toEqual([]);
    await elapse(60_000, heartbeat(95));
    const [opened] = await incidentEvents();
    expect(opened).toEqual(['incident.opened', expect.stringMatching(/^inc_/), false]);
    await elapse(60_000, heartbeat(95));
    expect(await incidentEvents()).toHaveLength(1);
    await elapse(SWEEP_MS, heartbeat(20));
    expect(await incidentEvents()).toEqual([opened, ['incident.resolved', opened![1], false]]);
    // Above again for the duration, within the flap window: the same incident reopens.
    await elapse(150_000, heartbeat(95));
    expect(await incidentEvents()).toEqual([
      opened,
      ['incident.resolved', opened![1], false],
      ['incident.opened', opened![1], true],
    ]);
  });

  it('resolves the open incidents of a rule that is disabled or deleted', async () => {
    const rule = await addRule({
      kind: 'metric_threshold',
      metric: 'cpu_percent',
      threshold_percent: 90,
      duration_minutes: 1,
    });
    await elapse(2 * 60_000, heartbeat(99));
    ok(await updateAlertRule({ client: t.admin, path: { rule_id: rule.id }, body: { enabled: false } }));
    await elapse(SWEEP_MS, heartbeat(99));
    const [opened, resolved] = await incidentEvents();
    expect(resolved).toEqual(['incident.resolved', opened![1], false]);

    ok(await updateAlertRule({ client: t.admin, path: { rule_id: rule.id }, body: { enabled: true } }));
    await elapse(SWEEP_MS, heartbeat(99));
    expect(await incidentEvents()).toHaveLength(3);
    expect((await deleteAlertRule({ client: t.admin, path: { rule_id: rule.id } })).response.status).toBe(
      204,
    );
    await elapse(SWEEP_MS, heartbeat(99));
    expect((await incidentEvents()).map(([type]) => type)).toEqual([
      'incident.opened',
      'incident.resolved',
      'incident.opened',
      'incident.resolved',
    ]);
  });
});

describe('evaluating event_match rules', () => {
  it('opens an incident on a matching agent event and resolves it once the event is older than the duration', async () => {
    await addRule({ kind: 'event_match', event_type: 'agent.process_crash', duration_minutes: 2 });
    ok(
      await sendAgentEvent({
        client: agent.client,
        body: { type: 'process_start_failed', severity: 'error', message: 'Could not start' },
      }),
    );
    await elapse(SWEEP_MS);
    expect(await incidentEvents()).toEqual([]);
    ok(
      await sendAgentEvent({
        client: agent.client,
        body: { type: 'process_crash', severity: 'error', message: 'TouchDesigner exited' },
      }),
    );
    await elapse(SWEEP_MS);
    const [opened] = await incidentEvents();
    expect(opened).toEqual(['incident.opened', expect.stringMatching(/^inc_/), false]);
    await elapse(2 * 60_000);
    expect(await incidentEvents()).toEqual([opened, ['incident.resolved', opened![1], false]]);
  });
});

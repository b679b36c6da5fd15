/**
 * Alert evaluation with several instances: two servers on one PostgreSQL database evaluate the
 * same rules side by side, again and again, and each incident opens once and resolves once; a
 * device's process states arriving through both at once are recorded (and announced) once. A
 * rule scoped by a saved device filter fires for the matching devices only and is in its usage.
 */
import { describe, expect, it } from 'vitest';
import {
  createAlertRule,
  createMonitoredProcess,
  deleteDeviceFilter,
  getDeviceFilterUsage,
  listEvents,
  listIncidents,
  previewAlertRule,
  sendAgentEvent,
  sendAgentHeartbeat,
  type AgentProcessState,
} from '@meridian/sdk';
import { addAgent, agentFrom } from './support/agents';
import { usePostgresInstances } from './support/postgres';
import { ok } from './support/server';
import { filteredRuleFleet } from './support/filtered-rule';
import { expectProblem } from './support/problem';
import { addSite } from './support/world';

const [t, second] = usePostgresInstances();

const sweepBoth = () => Promise.all([t.server.sweep(), second.server.sweep(), t.server.sweep()]);

describe('two instances on one PostgreSQL database', () => {
  it('open each incident once and resolve it once', async () => {
    const siteId = (await addSite(t)).id;
    const agents = [await addAgent(t, siteId), await addAgent(t, siteId), await addAgent(t, siteId)];
    for (const name of ['Crashes', 'Crashes too'])
      ok(
        await createAlertRule({
          client: t.admin,
          body: {
            name,
            kind: 'event_match',
            event_text: 'exited',
            duration_minutes: 1,
            scope: { site_ids: [siteId] },
          },
        }),
      );
    for (const agent of agents)
      ok(
        await sendAgentEvent({
          client: agent.client,
          body: { type: 'process_crash', severity: 'error', message: 'TouchDesigner exited' },
        }),
      );
    for (let round = 0; round < 3; round++) await sweepBoth();
    const count = async (type: string) =>
      ok(await listEvents({ client: t.admin, query: { site_id: siteId, type, limit: 500 } })).data.length;
    expect(await count('incident.opened')).toBe(agents.length * 2);
    const incidents = await t.server.context.db
      .selectFrom('incidents')
      .select(['rule_id', 'device_id'])
      .where('site_id', '=', siteId)
      .execute();
    expect(new Set(incidents.map((incident) => `${incident.rule_id} ${incident.device_id}`)).size).toBe(6);
    expect(incidents).toHaveLength(6);

    // Both clocks move past the duration: the events no longer count, and each incident resolves once.
    await Promise.all([t.clock.advance(2 * 60_000), second.clock.advance(2 * 60_000)]);
    for (let round = 0; round < 3; round++) await sweepBoth();
    expect(await count('incident.resolved')).toBe(agents.length * 2);
  });

  it('scope a rule by a saved device filter: it fires for the matching devices only, and is in its usage', async () => {
    const { tagged, filter, body } = await filteredRuleFleet(t);
    expect(ok(await previewAlertRule({ client: t.admin, body })).devices.map((d) => d.device_id)).toEqual([
      tagged.deviceId,
    ]);
    const rule = ok(await createAlertRule({ client: t.admin, body }));
    await sweepBoth();
    const incidents = ok(await listIncidents({ client: t.admin, query: { rule_id: rule.id } })).data;
    expect(incidents.map((incident) => incident.device_id)).toEqual([tagged.deviceId]);
    expect(ok(await getDeviceFilterUsage({ client: t.admin, path: { filter_id: filter.id } })).data).toEqual([
      { kind: 'alert_rule', id: rule.id, name: rule.name },
    ]);
    expectProblem(
      await deleteDeviceFilter({ client: t.admin, path: { filter_id: filter.id } }),
      409,
      'device_filter_in_use',
    );
  });

  it('record process states and open each process_down incident once, and resolve it once', async () => {
    const siteId = (await addSite(t)).id;
    const agent = await addAgent(t, siteId);
    // The same device heartbeats through either instance.
    const through = [agent, agentFrom(second, agent.credentials)];
    const show = ok(
      await createMonitoredProcess({
        client: t.admin,
        path: { device_id: agent.deviceId },
        body: { name: 'TouchDesigner', executable_path: 'C:\\TD\\TouchDesigner.exe' },
      }),
    );
    const rule = ok(
      await createAlertRule({
        client: t.admin,
        body: {
          name: 'Show down',
          kind: 'process_down',
          process_name: 'TouchDesigner',
          duration_minutes: 1,
          scope: { site_ids: [siteId] },
        },
      }),
    );
    const report = (state: AgentProcessState['state']) =>
      Promise.all(
        through.map(async (sender) =>
          ok(
            await sendAgentHeartbeat({
              client: sender.client,
              body: {
                status: 'ok',
                agent_version: '1.0.0',
                uptime_seconds: 60,
                processes: [{ process_id: show.id, state }],
              },
            }),
          ),
        ),
      );
    const advanceBoth = (ms: number) => Promise.all([t.clock.advance(ms), second.clock.advance(ms)]);
    const count = async (type: string) =>
      ok(await listEvents({ client: t.admin, query: { device_id: agent.deviceId, type, limit: 500 } })).data
        .length;

    await report('running');
    for (let step = 0; step < 4; step++) {
      await report('crashed');
      await advanceBoth(30_000);
      await sweepBoth();
    }
    expect(await count('process.started')).toBe(1);
    expect(await count('process.stopped')).toBe(1);
    const incidents = async () =>
      ok(await listIncidents({ client: t.admin, query: { rule_id: rule.id } })).data;
    expect(await incidents()).toMatchObject([{ device_id: agent.deviceId, state: 'open' }]);

    await report('running');
    for (let round = 0; round < 3; round++) await sweepBoth();
    expect(await incidents()).toMatchObject([{ state: 'resolved' }]);
    expect(await count('incident.opened')).toBe(1);
    expect(await count('incident.resolved')).toBe(1);
    expect(await count('process.started')).toBe(2);
  });
});

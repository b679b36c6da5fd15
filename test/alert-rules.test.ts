/**
 * Alert rules: CRUD under If-Match, the parameters each kind takes, the references it names,
 * and the preview — which devices a rule would fire for now — for each kind, with scopes,
 * exclusions, threshold overrides and site visibility; and rules scoped by a saved device filter,
 * evaluated when the rule is (a device that starts matching is watched from then on).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  archiveDeviceFilter,
  createAlertRule,
  createCustomField,
  createDeviceFilter,
  deleteAlertRule,
  updateCustomField,
  getAlertRule,
  listAlertRules,
  listIncidents,
  previewAlertRule,
  sendAgentEvent,
  sendAgentHeartbeat,
  updateAlertRule,
  updateDevice,
  type AlertRuleCreate,
} from '@meridian/sdk';
import { addAgent, renewAgent, type Agent } from './support/agents';
import { filteredRuleFleet } from './support/filtered-rule';
import { expectProblem } from './support/problem';
import { ok } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addMember, addSite, unique } from './support/world';

const t = useTestServer();
const MINUTE = 60_000;

const heartbeat = (agent: Agent, cpu = 10) =>
  sendAgentHeartbeat({
    client: agent.client,
    body: {
      status: 'ok',
      agent_version: '1.0.0',
      uptime_seconds: 60,
      metrics: { cpu_percent: cpu, memory_percent: 40, disk_percent: 30 },
    },
  });
const preview = async (body: AlertRuleCreate, client = t.admin) =>
  ok(await previewAlertRule({ client, body })).devices.map((device) => device.device_id);

describe('alert rules', () => {
  it('are created with defaults, listed by kind, read with an ETag, updated under If-Match and deleted', async () => {
    const created = await createAlertRule({
      client: t.admin,
      body: { name: 'Offline', kind: 'device_offline', duration_minutes: 10 },
    });
    expect(created.response.status).toBe(201);
    expect(created.response.headers.get('etag')).toBe('"1"');
    const rule = created.data!;
    expect(rule).toMatchObject({
      kind: 'device_offline',
      severity: 'warning',
      enabled: true,
      duration_minutes: 10,
      scope: {},
      excluded_device_ids: [],
      metric: null,
      event_text: null,
    });
    const listed = ok(await listAlertRules({ client: t.admin, query: { kind: 'device_offline' } }));
    expect(listed.data.map((r) => r.id)).toContain(rule.id);
    expect(
      ok(await listAlertRules({ client: t.admin, query: { kind: 'event_match' } })).data.map((r) => r.id),
    ).not.toContain(rule.id);

    const read = await getAlertRule({ client: t.admin, path: { rule_id: rule.id } });
    expect(read.response.headers.get('etag')).toBe('"1"');
    const updated = await updateAlertRule({
      client: t.admin,
      path: { rule_id: rule.id },
      headers: { 'If-Match': '"1"' },
      body: { enabled: false, severity: 'critical' },
    });
    expect(updated.response.headers.get('etag')).toBe('"2"');
    expect(updated.data).toMatchObject({ enabled: false, severity: 'critical' });
    expect(
      ok(await listAlertRules({ client: t.admin, query: { enabled: false } })).data.map((r) => r.id),
    ).toContain(rule.id);
    expectProblem(
      await updateAlertRule({
        client: t.admin,
        path: { rule_id: rule.id },
        headers: { 'If-Match': '"1"' },
        body: { enabled: true },
      }),
      412,
      'precondition_failed',
    );

    expect((await deleteAlertRule({ client: t.admin, path: { rule_id: rule.id } })).response.status).toBe(
      204,
    );
    expectProblem(await getAlertRule({ client: t.admin, path: { rule_id: rule.id } }), 404, 'not_found');
    expectProblem(
      await updateAlertRule({ client: t.admin, path: { rule_id: rule.id }, body: { enabled: true } }),
      404,
      'not_found',
    );
    expectProblem(await deleteAlertRule({ client: t.admin, path: { rule_id: rule.id } }), 404, 'not_found');
  });

  it('take the parameters of their kind and no other (422 naming each)', async () => {
    const missing = expectProblem(
      await createAlertRule({ client: t.admin, body: { name: 'Hot', kind: 'metric_threshold' } }),
      422,
      'rule_parameters_invalid',
    );
    expect(missing.errors?.map((issue) => issue.path)).toEqual(['/body/metric', '/body/threshold_percent']);
    const foreign = expectProblem(
      await createAlertRule({
        client: t.admin,
        body: { name: 'Offline', kind: 'device_offline', event_text: 'crash', threshold_percent: 5 },
      }),
      422,
      'rule_parameters_invalid',
    );
    expect(foreign.errors?.map((issue) => issue.path)).toEqual([
      '/body/threshold_percent',
      '/body/event_text',
    ]);
    expectProblem(
      await previewAlertRule({ client: t.admin, body: { name: 'Any event', kind: 'event_match' } }),
      422,
      'rule_parameters_invalid',
    );
    const rule = ok(
      await createAlertRule({
        client: t.admin,
        body: { name: 'Crashes', kind: 'event_match', event_text: 'crash' },
      }),
    );
    // Clearing the only criterion leaves an event_match rule matching nothing in particular.
    expectProblem(
      await updateAlertRule({ client: t.admin, path: { rule_id: rule.id }, body: { event_text: null } }),
      422,
      'rule_parameters_invalid',
    );
    expect(
      ok(
        await updateAlertRule({
          client: t.admin,
          path: { rule_id: rule.id },
          body: { event_text: null, event_type: 'agent.process_crash' },
        }),
      ),
    ).toMatchObject({ event_text: null, event_type: 'agent.process_crash' });
  });

  it('name sites, devices and device types that exist (422)', async () => {
    const site = `site_${'0'.repeat(26)}`;
    const device = `dev_${'0'.repeat(26)}`;
    const body = { name: 'Offline', kind: 'device_offline' } as const;
    expectProblem(
      await createAlertRule({ client: t.admin, body: { ...body, scope: { site_ids: [site] } } }),
      422,
      'unknown_site',
    );
    expectProblem(
      await createAlertRule({ client: t.admin, body: { ...body, excluded_device_ids: [device] } }),
      422,
      'unknown_device',
    );
    expectProblem(
      await previewAlertRule({ client: t.admin, body: { ...body, scope: { device_types: ['toaster'] } } }),
      422,
      'unknown_device_type',
    );
  });
});

describe('previewing a rule', () => {
  let siteId: string;
  let hot: Agent;
  let cool: Agent;
  let quiet: Agent;
  const inSite = { scope: { site_ids: [] as string[] } };
  beforeAll(async () => {
    siteId = (await addSite(t)).id;
    inSite.scope.site_ids = [siteId];
    [hot, cool, quiet] = [await addAgent(t, siteId), await addAgent(t, siteId), await addAgent(t, siteId)];
    ok(await updateDevice({ client: t.admin, path: { device_id: hot.deviceId }, body: { tags: ['kiosk'] } }));
  });

  it('finds devices above a metric threshold for the whole duration, with overrides and tags', async () => {
    for (let minute = 0; minute <= 6; minute++) {
      ok(await heartbeat(hot, 95));
      ok(await heartbeat(cool, minute === 3 ? 50 : 95));
      ok(await heartbeat(quiet, 20));
      await t.clock.advance(MINUTE);
    }
    const rule = {
      name: 'Hot',
      kind: 'metric_threshold',
      metric: 'cpu_percent',
      threshold_percent: 90,
      duration_minutes: 5,
      ...inSite,
    } as const;
    expect(await preview(rule)).toEqual([hot.deviceId]);
    expect(
      await preview({ ...rule, threshold_overrides: [{ device_id: hot.deviceId, threshold_percent: 96 }] }),
    ).toEqual([]);
    expect(await preview({ ...rule, duration_minutes: 2 })).toEqual([hot.deviceId, cool.deviceId]);
    expect(
      await preview({ ...rule, duration_minutes: 2, scope: { ...rule.scope, tags: ['kiosk'] } }),
    ).toEqual([hot.deviceId]);
    expect(await preview({ ...rule, duration_minutes: 2, excluded_device_ids: [hot.deviceId] })).toEqual([
      cool.deviceId,
    ]);
    // Samples that stop coming (the agent went quiet) no longer show the device as above.
    await t.clock.advance(5 * MINUTE);
    expect(await preview(rule)).toEqual([]);
  });

  it('finds devices with a matching event within the duration', async () => {
    ok(
      await sendAgentEvent({
        client: quiet.client,
        body: { type: 'process_crash', severity: 'error', message: 'TouchDesigner CRASHED' },
      }),
    );
    const rule = { name: 'Crashes', kind: 'event_match', duration_minutes: 10, ...inSite } as const;
    expect(await preview({ ...rule, event_text: 'crashed' })).toEqual([quiet.deviceId]);
    expect(await preview({ ...rule, event_type: 'agent.process_crash', event_severity: 'critical' })).toEqual(
      [],
    );
    await t.clock.advance(11 * MINUTE);
    expect(await preview({ ...rule, event_text: 'crashed' })).toEqual([]);
  });

  it('finds devices offline for the duration, among those the caller can see', async () => {
    // Their access tokens ran out while the clock moved on.
    [hot, cool] = [await renewAgent(t, hot), await renewAgent(t, cool)];
    ok(await heartbeat(hot));
    ok(await heartbeat(cool));
    await t.clock.advance(6 * MINUTE);
    ok(await heartbeat(cool));
    const rule = { name: 'Offline', kind: 'device_offline', duration_minutes: 5, ...inSite } as const;
    expect(await preview(rule)).toEqual([hot.deviceId, quiet.deviceId]);
    const outsider = await addMember(t, 'operator', [(await addSite(t)).id]);
    expect(await preview(rule, outsider.client)).toEqual([]);
    const member = await addMember(t, 'viewer', [siteId]);
    expect(await preview({ ...rule, name: unique('rule') }, member.client)).toEqual([
      hot.deviceId,
      quiet.deviceId,
    ]);
  });
});

describe('a rule scoped by a saved device filter', () => {
  it('fires and previews for the devices matching the filter now, and refuses unknown or archived filters (422)', async () => {
    const { siteId, tagged, other, filter, body, match } = await filteredRuleFleet(t);
    expect(await preview(body)).toEqual([tagged.deviceId]);
    const rule = ok(await createAlertRule({ client: t.admin, body }));
    expect(rule.scope).toEqual({ filter_id: filter.id });
    const incidentDevices = async () =>
      ok(await listIncidents({ client: t.admin, query: { rule_id: rule.id, state: 'open' } }))
        .data.map((incident) => incident.device_id)
        .sort();
    await t.clock.advance(30_000);
    expect(await incidentDevices()).toEqual([tagged.deviceId]);

    // The other device starts matching: the next evaluation and preview cover it.
    await match(other, true);
    expect(await preview(body)).toEqual([tagged.deviceId, other.deviceId].sort());
    await t.clock.advance(30_000);
    expect(await incidentDevices()).toEqual([tagged.deviceId, other.deviceId].sort());

    // Archived, the filter still serves the rule (a device that stops matching is let go), but no
    // rule or preview may newly take it.
    ok(await archiveDeviceFilter({ client: t.admin, path: { filter_id: filter.id } }));
    expect(
      ok(
        await updateAlertRule({
          client: t.admin,
          path: { rule_id: rule.id },
          body: { severity: 'critical' },
        }),
      ).severity,
    ).toBe('critical');
    await match(other, false);
    await t.clock.advance(30_000);
    expect(await incidentDevices()).toEqual([tagged.deviceId]);
    expectProblem(await previewAlertRule({ client: t.admin, body }), 422, 'device_filter_archived');
    expectProblem(await createAlertRule({ client: t.admin, body }), 422, 'device_filter_archived');
    expectProblem(
      await updateAlertRule({
        client: t.admin,
        path: { rule_id: rule.id },
        body: { scope: { filter_id: filter.id, site_ids: [siteId] } },
      }),
      422,
      'device_filter_archived',
    );
    const unknown = `flt_${'0'.repeat(26)}`;
    expectProblem(
      await createAlertRule({ client: t.admin, body: { ...body, scope: { filter_id: unknown } } }),
      422,
      'unknown_device_filter',
    );
    expectProblem(
      await previewAlertRule({ client: t.admin, body: { ...body, scope: { filter_id: unknown } } }),
      422,
      'unknown_device_filter',
    );
  });

  it('whose filter no longer compiles (an enum option it names was dropped) is skipped while the others are evaluated', async () => {
    const siteId = (await addSite(t)).id;
    const agent = await addAgent(t, siteId);
    const key = unique('rack')
      .toLowerCase()
      .replace(/[^a-z0-9_]/g, '_');
    const field = ok(
      await createCustomField({
        client: t.admin,
        body: { key, label: 'Rack', type: 'enum', options: ['one', 'two'], default: 'two' },
      }),
    );
    const filter = ok(
      await createDeviceFilter({
        client: t.admin,
        body: { name: unique('Rack two'), expression: { field: `custom.${key}`, op: 'eq', value: 'two' } },
      }),
    );
    const byRack = ok(
      await createAlertRule({
        client: t.admin,
        body: { name: unique('Rack offline'), kind: 'device_offline', scope: { filter_id: filter.id } },
      }),
    );
    const bySite = ok(
      await createAlertRule({
        client: t.admin,
        body: {
          name: unique('Site events'),
          kind: 'event_match',
          event_text: 'fan stalled',
          scope: { site_ids: [siteId] },
        },
      }),
    );
    ok(
      await updateCustomField({
        client: t.admin,
        path: { custom_field_id: field.id },
        headers: { 'If-Match': '"1"' },
        body: { options: ['one'], default: 'one' },
      }),
    );
    expectProblem(
      await previewAlertRule({
        client: t.admin,
        body: { name: byRack.name, kind: byRack.kind, scope: byRack.scope },
      }),
      400,
      'invalid_filter',
    );
    ok(
      await sendAgentEvent({
        client: agent.client,
        body: { type: 'process_crash', severity: 'warning', message: 'Fan stalled' },
      }),
    );
    await t.clock.advance(30_000);
    const opened = ok(await listIncidents({ client: t.admin, query: { rule_id: bySite.id } })).data;
    expect(opened.map((incident) => incident.device_id)).toEqual([agent.deviceId]);
  });
});

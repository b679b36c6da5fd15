/**
 * Incidents through the API: listing with filters and site visibility, acknowledging,
 * unacknowledging, notes and resolving by hand (each only from the states it starts from),
 * bulk acknowledgement and resolution by IDs or by filter, the timeline with who and when, and
 * the events incidents raise.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  acknowledgeIncident,
  acknowledgeIncidents,
  addIncidentNote,
  createAlertRule,
  getCurrentUser,
  getIncident,
  getIncidentTimeline,
  listEvents,
  listIncidents,
  resolveIncident,
  resolveIncidents,
  sendAgentEvent,
  unacknowledgeIncident,
  type Incident,
} from '@meridian/sdk';
import { addAgent, type Agent } from './support/agents';
import { expectProblem } from './support/problem';
import { ok } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addMember, addSite, unique } from './support/world';

const t = useTestServer();
let siteId: string;
let ruleId: string;
let agents: Agent[];
let adminId: string;

/** The agents report a crash and the rules are evaluated: an incident per agent opens. */
async function crash(...crashing: Agent[]) {
  for (const agent of crashing)
    ok(
      await sendAgentEvent({
        client: agent.client,
        body: { type: 'process_crash', severity: 'error', message: 'TouchDesigner exited' },
      }),
    );
  await t.server.sweep();
}
const incidentOf = async (agent: Agent): Promise<Incident> =>
  ok(await listIncidents({ client: t.admin, query: { rule_id: ruleId, device_id: agent.deviceId } })).data.at(
    -1,
  )!;

beforeAll(async () => {
  siteId = (await addSite(t)).id;
  agents = [await addAgent(t, siteId), await addAgent(t, siteId)];
  ruleId = ok(
    await createAlertRule({
      client: t.admin,
      body: {
        name: 'Crashes',
        kind: 'event_match',
        event_type: 'agent.process_crash',
        severity: 'error',
        duration_minutes: 10,
        scope: { site_ids: [siteId] },
      },
    }),
  ).id;
  adminId = ok(await getCurrentUser({ client: t.admin })).user.id;
  await crash(...agents);
});

describe('incidents', () => {
  it('are listed with filters, among the sites the caller can see', async () => {
    const incident = await incidentOf(agents[0]!);
    expect(incident).toMatchObject({
      rule_id: ruleId,
      rule_name: 'Crashes',
      site_id: siteId,
      severity: 'error',
      state: 'open',
      reopen_count: 0,
      acknowledged_by: null,
      resolved_at: null,
    });
    const ids = async (query: NonNullable<Parameters<typeof listIncidents>[0]>['query'], client = t.admin) =>
      ok(await listIncidents({ client, query: { site_id: siteId, ...query } })).data.map((i) => i.id);
    expect(await ids({})).toHaveLength(2);
    expect(await ids({ device_id: agents[0]!.deviceId })).toEqual([incident.id]);
    expect(await ids({ state: 'acknowledged' })).toEqual([]);
    expect(await ids({ severity: 'error', since: incident.opened_at })).toHaveLength(2);
    expect(await ids({ until: incident.opened_at })).toEqual([]);
    expect(ok(await getIncident({ client: t.admin, path: { incident_id: incident.id } }))).toEqual(incident);
    expectProblem(
      await listIncidents({
        client: t.admin,
        query: { since: '2026-11-02T00:00:00Z', until: '2026-11-01T00:00:00Z' },
      }),
      422,
      'empty_window',
    );

    const outsider = await addMember(t, 'operator', [(await addSite(t)).id]);
    expect(await ids({}, outsider.client)).toEqual([]);
    expectProblem(
      await getIncident({ client: outsider.client, path: { incident_id: incident.id } }),
      404,
      'not_found',
    );
    const viewer = await addMember(t, 'viewer', [siteId]);
    expect(await ids({}, viewer.client)).toHaveLength(2);
  });

  it('are acknowledged, unacknowledged, annotated and resolved only from the states each starts from, on a timeline', async () => {
    const { id } = await incidentOf(agents[0]!);
    const path = { incident_id: id };
    const operator = await addMember(t, 'operator', [siteId]);
    expect(ok(await acknowledgeIncident({ client: operator.client, path }))).toMatchObject({
      state: 'acknowledged',
      acknowledged_by: operator.user.id,
    });
    expectProblem(await acknowledgeIncident({ client: t.admin, path }), 409, 'incident_state_conflict');
    expect(ok(await unacknowledgeIncident({ client: t.admin, path }))).toMatchObject({
      state: 'open',
      acknowledged_at: null,
    });
    expectProblem(await unacknowledgeIncident({ client: t.admin, path }), 409, 'incident_state_conflict');
    const note = await addIncidentNote({ client: operator.client, path, body: { note: 'Rebooting it.' } });
    expect(note.response.status).toBe(201);
    expect(note.data).toMatchObject({ incident_id: id, kind: 'note', actor_id: operator.user.id });
    expect(ok(await resolveIncident({ client: t.admin, path }))).toMatchObject({
      state: 'resolved',
      resolved_by: adminId,
    });
    expectProblem(await resolveIncident({ client: t.admin, path }), 409, 'incident_state_conflict');

    // The condition still holds: the next evaluation reopens the same incident.
    await t.server.sweep();
    expect(ok(await getIncident({ client: t.admin, path }))).toMatchObject({
      state: 'open',
      reopen_count: 1,
    });

    const timeline = ok(await getIncidentTimeline({ client: t.admin, path })).data;
    expect(timeline.map((entry) => [entry.kind, entry.actor_id, entry.note])).toEqual([
      ['opened', null, null],
      ['acknowledged', operator.user.id, null],
      ['unacknowledged', adminId, null],
      ['note', operator.user.id, 'Rebooting it.'],
      ['resolved', adminId, null],
      ['reopened', null, null],
    ]);
    const events = ok(
      await listEvents({ client: t.admin, query: { device_id: agents[0]!.deviceId } }),
    ).data.filter((event) => event.type.startsWith('incident.'));
    expect(events.map((event) => [event.type, event.data.by ?? null, event.data.reopened ?? false])).toEqual([
      ['incident.opened', null, false],
      ['incident.acknowledged', operator.user.id, false],
      ['incident.resolved', adminId, false],
      ['incident.opened', null, true],
    ]);
  });

  it('are acknowledged and resolved in bulk, by IDs or by filter', async () => {
    const ids = await Promise.all(agents.map(async (agent) => (await incidentOf(agent)).id));
    expect(ok(await acknowledgeIncidents({ client: t.admin, body: { incident_ids: ids } }))).toEqual({
      changed_count: 2,
    });
    expect(ok(await acknowledgeIncidents({ client: t.admin, body: { incident_ids: ids } }))).toEqual({
      changed_count: 0,
    });
    expectProblem(
      await resolveIncidents({ client: t.admin, body: { incident_ids: ids, filter: { rule_id: ruleId } } }),
      422,
      'ambiguous_selection',
    );
    expectProblem(
      await acknowledgeIncidents({ client: t.admin, body: { incident_ids: ids, filter: {} } }),
      422,
      'ambiguous_selection',
    );
    const outsider = await addMember(t, 'operator', [(await addSite(t)).id]);
    expect(
      ok(await resolveIncidents({ client: outsider.client, body: { filter: { rule_id: ruleId } } })),
    ).toEqual({
      changed_count: 0,
    });
    expect(
      ok(await resolveIncidents({ client: t.admin, body: { filter: { rule_id: ruleId, site_id: siteId } } })),
    ).toEqual({ changed_count: 2 });
    for (const incident_id of ids)
      expect(ok(await getIncident({ client: t.admin, path: { incident_id } })).state).toBe('resolved');
  });

  it('answer 404 for an incident that does not exist', async () => {
    const path = { incident_id: `inc_${'0'.repeat(26)}` };
    expectProblem(await getIncident({ client: t.admin, path }), 404, 'not_found');
    expectProblem(await getIncidentTimeline({ client: t.admin, path }), 404, 'not_found');
    expectProblem(await resolveIncident({ client: t.admin, path }), 404, 'not_found');
    expectProblem(
      await addIncidentNote({ client: t.admin, path, body: { note: unique('note') } }),
      404,
      'not_found',
    );
  });
});

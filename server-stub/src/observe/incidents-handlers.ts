import { initServer } from '@ts-rest/express';
import type { ExpressionBuilder } from 'kysely';
import type { z } from 'zod';
import type { AppContext } from '../context';
import { contract, type IncidentFilter, type IncidentSelection } from '../generated/contract.gen';
import { paginate } from '../http/pagination';
import { principalOf, visibleSiteIds, type Principal } from '../http/principal';
import { problems } from '../http/problem';
import { oneOrNotFound } from '../store/found';
import type { Database, IncidentRow, IncidentState, IncidentTimelineKind } from '../store/schema';
import { addNote, toIncident, toTimelineEntry, transition } from './incidents-store';

type Filter = z.infer<typeof IncidentFilter> & {
  state?: IncidentState | undefined;
  since?: string | undefined;
};

/** Incidents matching every given field of the filter. */
function matching(filter: Filter) {
  return (eb: ExpressionBuilder<Database, 'incidents'>) =>
    eb.and([
      ...(filter.state === undefined ? [] : [eb('state', '=', filter.state)]),
      ...(filter.severity === undefined ? [] : [eb('severity', '=', filter.severity)]),
      ...(filter.site_id === undefined ? [] : [eb('site_id', '=', filter.site_id)]),
      ...(filter.device_id === undefined ? [] : [eb('device_id', '=', filter.device_id)]),
      ...(filter.rule_id === undefined ? [] : [eb('rule_id', '=', filter.rule_id)]),
      ...(filter.since === undefined ? [] : [eb('opened_at', '>=', new Date(filter.since).toISOString())]),
      ...(filter.until === undefined ? [] : [eb('opened_at', '<', new Date(filter.until).toISOString())]),
    ]);
}

/** What each action does: the states it starts from, the state it leads to, its event. */
const ACTIONS = {
  acknowledge: { from: ['open'], to: 'acknowledged', kind: 'acknowledged', event: 'acknowledged' },
  unacknowledge: { from: ['acknowledged'], to: 'open', kind: 'unacknowledged', event: undefined },
  resolve: { from: ['open', 'acknowledged'], to: 'resolved', kind: 'resolved', event: 'resolved' },
} as const satisfies Record<
  string,
  {
    from: readonly IncidentState[];
    to: IncidentState;
    kind: IncidentTimelineKind;
    event: 'acknowledged' | 'resolved' | undefined;
  }
>;
type Action = keyof typeof ACTIONS;

export function incidentsHandlers(context: AppContext) {
  /** Incidents of the principal's sites. */
  function selectIncidents(principal: Principal) {
    const siteIds = visibleSiteIds(principal);
    return context.db
      .selectFrom('incidents')
      .selectAll()
      .$if(siteIds !== null, (qb) => qb.where('site_id', 'in', siteIds!));
  }

  const findIncident = (principal: Principal, id: string): Promise<IncidentRow> =>
    oneOrNotFound(selectIncidents(principal).where('id', '=', id), 'incident', id);

  const apply = (action: Action, principal: Principal, incidentId: string) => {
    const { from, to, kind, event } = ACTIONS[action];
    return transition(context, incidentId, from, to, { kind, actorId: principal.user.id }, event);
  };

  /** One incident through an action, or 409 if it is not in a state the action starts from. */
  async function act(action: Action, req: Parameters<typeof principalOf>[0], incidentId: string) {
    const principal = principalOf(req);
    const incident = await findIncident(principal, incidentId);
    const changed = await apply(action, principal, incident.id);
    if (!changed) {
      const { state } = await findIncident(principal, incident.id);
      throw problems.conflict(
        'incident_state_conflict',
        `Incident ${incident.id} is ${state}; only ${ACTIONS[action].from.join(' or ')} incidents can be ${action}d.`,
      );
    }
    return { status: 200 as const, body: toIncident(changed) };
  }

  /** Many incidents through an action: the listed IDs or those matching the filter; how many changed. */
  async function actOnMany(
    action: Action,
    req: Parameters<typeof principalOf>[0],
    body: z.infer<typeof IncidentSelection>,
  ) {
    const principal = principalOf(req);
    if (body.incident_ids !== undefined && body.filter !== undefined)
      throw problems.unprocessable('ambiguous_selection', 'Send either incident_ids or filter, not both.');
    const selected = await selectIncidents(principal)
      .clearSelect()
      .select('id')
      .where('state', 'in', ACTIONS[action].from)
      .$if(body.incident_ids !== undefined, (qb) => qb.where('id', 'in', body.incident_ids!))
      .$if(body.incident_ids === undefined, (qb) => qb.where(matching(body.filter ?? {})))
      .orderBy('id')
      .execute();
    let changed = 0;
    for (const { id } of selected) if (await apply(action, principal, id)) changed++;
    return { status: 200 as const, body: { changed_count: changed } };
  }

  return initServer().router(contract.incidents, {
    listIncidents: async ({ query, req }) => {
      if (
        query.since !== undefined &&
        query.until !== undefined &&
        Date.parse(query.until) <= Date.parse(query.since)
      )
        throw problems.unprocessable('empty_window', 'until must be after since.');
      const body = await paginate(
        query,
        selectIncidents(principalOf(req)).where(matching(query)),
        toIncident,
      );
      return { status: 200, body };
    },

    getIncident: async ({ params, req }) => ({
      status: 200,
      body: toIncident(await findIncident(principalOf(req), params.incident_id)),
    }),

    acknowledgeIncident: ({ params, req }) => act('acknowledge', req, params.incident_id),
    unacknowledgeIncident: ({ params, req }) => act('unacknowledge', req, params.incident_id),
    resolveIncident: ({ params, req }) => act('resolve', req, params.incident_id),
    acknowledgeIncidents: ({ body, req }) => actOnMany('acknowledge', req, body),
    resolveIncidents: ({ body, req }) => actOnMany('resolve', req, body),

    addIncidentNote: async ({ params, body, req }) => {
      const principal = principalOf(req);
      const incident = await findIncident(principal, params.incident_id);
      return {
        status: 201,
        body: toTimelineEntry(await addNote(context, incident, principal.user.id, body.note)),
      };
    },

    getIncidentTimeline: async ({ params, query, req }) => {
      const incident = await findIncident(principalOf(req), params.incident_id);
      const body = await paginate(
        query,
        context.db.selectFrom('incident_timeline').selectAll().where('incident_id', '=', incident.id),
        toTimelineEntry,
      );
      return { status: 200, body };
    },
  });
}

/**
 * Incidents and their transitions. Each transition is one conditional update (it happens only
 * from the state it starts from), written in one transaction with its timeline entry and the
 * event it raises, so that several instances make each transition once and every transition
 * reaches the event log (and whatever follows it) exactly when it is committed.
 */
import type { Kysely, Selectable } from 'kysely';
import type { z } from 'zod';
import type { AppContext } from '../context';
import type { Incident, IncidentTimelineEntry } from '../generated/contract.gen';
import { newId } from '../store/ids';
import type {
  Database,
  IncidentRow,
  IncidentState,
  IncidentTimelineKind,
  IncidentTimelineTable,
} from '../store/schema';
import { announceEvents, insertEvent } from './events-store';

/** A condition that clears and holds again within this time reopens its incident. */
export const FLAP_WINDOW_MS = 5 * 60_000;

type EventKind = 'opened' | 'acknowledged' | 'resolved';
type TimelineRow = Selectable<IncidentTimelineTable>;

export function toIncident(row: IncidentRow): z.infer<typeof Incident> {
  return { ...row, reopen_count: Number(row.reopen_count) };
}

export function toTimelineEntry(row: TimelineRow): z.infer<typeof IncidentTimelineEntry> {
  return row;
}

async function record(
  trx: Kysely<Database>,
  context: AppContext,
  incident: IncidentRow,
  entry: { kind: IncidentTimelineKind; actorId: string | null; note?: string },
  event?: EventKind,
): Promise<TimelineRow> {
  const row: TimelineRow = {
    id: newId('itl'),
    incident_id: incident.id,
    kind: entry.kind,
    at: context.now().toISOString(),
    actor_id: entry.actorId,
    note: entry.note ?? null,
  };
  await trx.insertInto('incident_timeline').values(row).execute();
  if (event === undefined) return row;
  await insertEvent(trx, context, {
    type: `incident.${event}`,
    severity: event === 'opened' ? incident.severity : 'info',
    siteId: incident.site_id,
    deviceId: incident.device_id,
    message: `Incident ${event}: ${incident.rule_name}. ${incident.summary}`,
    data: {
      incident_id: incident.id,
      rule_id: incident.rule_id,
      state: incident.state,
      ...(entry.kind === 'reopened' ? { reopened: true } : {}),
      ...(entry.actorId === null ? {} : { by: entry.actorId }),
    },
  });
  return row;
}

/**
 * Moves the incident from one of `from` to `to` if it is still there, with its timeline entry
 * and event; returns the incident as it became, or undefined if another request or instance
 * moved it first.
 */
export async function transition(
  context: AppContext,
  incidentId: string,
  from: readonly IncidentState[],
  to: IncidentState,
  entry: { kind: IncidentTimelineKind; actorId: string | null },
  event?: EventKind,
): Promise<IncidentRow | undefined> {
  const now = context.now().toISOString();
  const changes = {
    state: to,
    updated_at: now,
    ...(to === 'acknowledged' ? { acknowledged_at: now, acknowledged_by: entry.actorId } : {}),
    ...(to === 'open' ? { acknowledged_at: null, acknowledged_by: null } : {}),
    ...(to === 'resolved' ? { resolved_at: now, resolved_by: entry.actorId } : {}),
  };
  const moved = await context.db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('incidents')
      .set(entry.kind === 'reopened' ? { ...changes, resolved_at: null, resolved_by: null } : changes)
      .$if(entry.kind === 'reopened', (qb) => qb.set((eb) => ({ reopen_count: eb('reopen_count', '+', 1) })))
      .where('id', '=', incidentId)
      .where('state', 'in', from)
      .returningAll()
      .executeTakeFirst();
    if (row) await record(trx, context, row, entry, event);
    return row;
  });
  if (moved && event) announceEvents(context);
  return moved;
}

/** Adds a note to the incident's timeline. */
export function addNote(context: AppContext, incident: IncidentRow, actorId: string, note: string) {
  return record(context.db, context, incident, { kind: 'note', actorId, note });
}

export interface NewIncident {
  rule: { id: string; name: string; severity: IncidentRow['severity'] };
  device: { device_id: string; site_id: string };
  summary: string;
}

/**
 * Opens the incident of a rule and device whose condition holds: reopens the last one if it
 * resolved within the flap window, or else opens a new one unless one is unresolved already (the
 * unique index on unresolved incidents makes a second instance's insert do nothing). Returns
 * whether this call opened or reopened it.
 */
export async function openIncident(context: AppContext, incident: NewIncident): Promise<boolean> {
  const recent = await context.db
    .selectFrom('incidents')
    .select('id')
    .where('rule_id', '=', incident.rule.id)
    .where('device_id', '=', incident.device.device_id)
    .where('state', '=', 'resolved')
    .where('resolved_at', '>=', new Date(context.now().getTime() - FLAP_WINDOW_MS).toISOString())
    .orderBy('resolved_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (recent) {
    const reopened = await transition(
      context,
      recent.id,
      ['resolved'],
      'open',
      { kind: 'reopened', actorId: null },
      'opened',
    );
    if (reopened) return true;
  }
  const now = context.now().toISOString();
  const opened = await context.db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('incidents')
      .values({
        id: newId('inc'),
        rule_id: incident.rule.id,
        rule_name: incident.rule.name,
        device_id: incident.device.device_id,
        site_id: incident.device.site_id,
        severity: incident.rule.severity,
        state: 'open',
        summary: incident.summary,
        opened_at: now,
        acknowledged_at: null,
        acknowledged_by: null,
        resolved_at: null,
        resolved_by: null,
        updated_at: now,
      })
      .onConflict((oc) => oc.doNothing())
      .returningAll()
      .executeTakeFirst();
    if (row) await record(trx, context, row, { kind: 'opened', actorId: null }, 'opened');
    return row;
  });
  if (opened) announceEvents(context);
  return opened !== undefined;
}

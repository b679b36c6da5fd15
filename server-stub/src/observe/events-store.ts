/**
 * The event log: what happened to the fleet, written by the system (enrolments, presence,
 * commands) and by agents. Writers call `emitEvent` (or `insertEvent` inside a transaction, then
 * `announceEvents` after it commits) so that event streams and the webhook worker wake up. Every
 * event's webhook deliveries are written with it, in the same transaction (the outbox).
 */
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { AppContext } from '../context';
import { enqueueDeliveries } from '../integrate/webhook-deliveries';
import { enqueueNotifications } from '../integrate/notifications';
import type { Event } from '../generated/contract.gen';
import { newId } from '../store/ids';
import type { Database, EventRow, EventSeverity } from '../store/schema';

export const EVENTS_TOPIC = 'events';

export interface NewEvent {
  type: string;
  severity: EventSeverity;
  source?: 'system' | 'agent';
  siteId: string | null;
  deviceId: string | null;
  message: string;
  data?: Record<string, unknown>;
}

export function toEvent(row: EventRow): z.infer<typeof Event> {
  return {
    id: row.id,
    type: row.type,
    severity: row.severity,
    source: row.source,
    site_id: row.site_id,
    device_id: row.device_id,
    message: row.message,
    data: JSON.parse(row.data) as Record<string, unknown>,
    created_at: row.created_at,
    acknowledged_at: row.acknowledged_at,
    acknowledged_by: row.acknowledged_by,
  };
}

export async function insertEvent(
  db: Kysely<Database>,
  context: AppContext,
  event: NewEvent,
): Promise<EventRow> {
  const row: EventRow = {
    id: newId('evt'),
    type: event.type,
    severity: event.severity,
    source: event.source ?? 'system',
    site_id: event.siteId,
    device_id: event.deviceId,
    message: event.message,
    data: JSON.stringify(event.data ?? {}),
    created_at: context.now().toISOString(),
    acknowledged_at: null,
    acknowledged_by: null,
  };
  await db.insertInto('events').values(row).execute();
  await enqueueDeliveries(db, row);
  await enqueueNotifications(db, row);
  return row;
}

/** Wakes event streams; call after the transaction that inserted events has committed. */
export function announceEvents(context: AppContext): void {
  context.signals.notify(EVENTS_TOPIC);
}

/** Writes an event with its deliveries and notifications in one transaction, then announces it. */
export async function emitEvent(context: AppContext, event: NewEvent): Promise<EventRow> {
  const row = await context.db.transaction().execute((trx) => insertEvent(trx, context, event));
  announceEvents(context);
  return row;
}

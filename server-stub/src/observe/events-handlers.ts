import { PassThrough } from 'node:stream';
import { initServer } from '@ts-rest/express';
import type { ExpressionBuilder } from 'kysely';
import type { z } from 'zod';
import type { AppContext } from '../context';
import { contract, type EventFilter } from '../generated/contract.gen';
import { paginate } from '../http/pagination';
import { principalOf, visibleSiteIds, type Principal } from '../http/principal';
import { problems } from '../http/problem';
import type { Database, EventRow, EventSeverity } from '../store/schema';
import { assertUsableSite } from '../fleet/sites-store';
import { emitEvent, EVENTS_TOPIC, toEvent } from './events-store';
import { oneOrNotFound } from '../store/found';
import { idBefore } from '../store/ids';

const KEEP_ALIVE_MS = 15_000;
/** Events sent per query while a stream catches up; it queries again until it has all. */
const STREAM_BATCH = 500;
/**
 * Events do not always commit in the order of their IDs (two transactions at once, or instances
 * whose clocks differ a little): a stream reads again from this long before the newest event it
 * sent, skipping those it sent already, so an event committed late still goes out.
 */
const LOOK_BACK_MS = 2000;
const SEVERITIES: readonly EventSeverity[] = ['info', 'warning', 'error', 'critical'];

type Filter = z.infer<typeof EventFilter> & {
  acknowledged?: boolean | undefined;
  since?: string | undefined;
};

/** Events matching every given field of the filter. */
function matching(filter: Filter) {
  return (eb: ExpressionBuilder<Database, 'events'>) =>
    eb.and([
      ...(filter.site_id === undefined ? [] : [eb('site_id', '=', filter.site_id)]),
      ...(filter.device_id === undefined ? [] : [eb('device_id', '=', filter.device_id)]),
      ...(filter.type === undefined ? [] : [eb('type', '=', filter.type)]),
      ...(filter.severity === undefined ? [] : [eb('severity', '=', filter.severity)]),
      ...(filter.acknowledged === undefined
        ? []
        : [eb('acknowledged_at', filter.acknowledged ? 'is not' : 'is', null)]),
      ...(filter.since === undefined ? [] : [eb('created_at', '>=', new Date(filter.since).toISOString())]),
      ...(filter.before === undefined ? [] : [eb('created_at', '<', new Date(filter.before).toISOString())]),
    ]);
}

/** Events of the principal's sites; events of no site are for admins only. */
function selectEvents(context: AppContext, principal: Principal) {
  const siteIds = visibleSiteIds(principal);
  return context.db
    .selectFrom('events')
    .selectAll()
    .$if(siteIds !== null, (qb) => qb.where('site_id', 'in', siteIds!));
}

export function eventsHandlers(context: AppContext) {
  const { db } = context;

  async function findEvent(principal: Principal, id: string): Promise<EventRow> {
    return oneOrNotFound(selectEvents(context, principal).where('id', '=', id), 'event', id);
  }

  /** Acknowledges the unacknowledged events among those selected; returns how many. */
  async function acknowledge(principal: Principal, select: ReturnType<typeof selectEvents>): Promise<number> {
    const result = await db
      .updateTable('events')
      .set({ acknowledged_at: context.now().toISOString(), acknowledged_by: principal.user.id })
      .where('acknowledged_at', 'is', null)
      .where('id', 'in', select.clearSelect().select('id'))
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  return initServer().router(contract.events, {
    listEvents: async ({ query, req }) => {
      const body = await paginate(
        query,
        selectEvents(context, principalOf(req)).where(matching(query)),
        toEvent,
      );
      return { status: 200, body };
    },

    streamEvents: async ({ query, headers, req, res }) => {
      const principal = principalOf(req);
      const visible = () => selectEvents(context, principal).where(matching(query));
      // Without Last-Event-ID the stream starts after the newest event there is now.
      const start =
        headers['last-event-id'] ??
        (await db.selectFrom('events').select('id').orderBy('id', 'desc').limit(1).executeTakeFirst())?.id ??
        '';
      // The newest event sent, and the events sent within LOOK_BACK_MS of it.
      let newest = start;
      const sent = new Set<string>();
      const stream = new PassThrough();
      let sending: Promise<void> | undefined;
      let again = false;
      /** Sends every visible event after the start not sent yet; one run at a time, rerun if woken meanwhile. */
      const sendNew = (): void => {
        if (sending) {
          again = true;
          return;
        }
        sending = (async () => {
          do {
            again = false;
            // Never before the start: the stream does not send what was there when it began.
            let after = idBefore(newest, LOOK_BACK_MS);
            if (after < start) after = start;
            let rows: EventRow[];
            do {
              rows = await visible().where('id', '>', after).orderBy('id').limit(STREAM_BATCH).execute();
              for (const row of rows.filter((candidate) => !sent.has(candidate.id))) {
                stream.write(`id: ${row.id}\nevent: ${row.type}\ndata: ${JSON.stringify(toEvent(row))}\n\n`);
                sent.add(row.id);
                if (row.id > newest) newest = row.id;
              }
              after = rows.at(-1)?.id ?? after;
            } while (rows.length === STREAM_BATCH);
            const forgotten = idBefore(newest, LOOK_BACK_MS);
            for (const id of sent) if (id <= forgotten) sent.delete(id);
          } while (again);
        })()
          .catch((error: unknown) => {
            res.log.error({ err: error }, 'event stream failed');
            stream.end();
          })
          .finally(() => {
            sending = undefined;
          });
      };
      let cancelKeepAlive = (): void => undefined;
      const keepAlive = (): void => {
        cancelKeepAlive = context.timers.set(
          KEEP_ALIVE_MS,
          () => {
            stream.write(': keep-alive\n\n');
            keepAlive();
          },
          'event-stream',
        );
      };
      const unsubscribe = context.signals.subscribe(EVENTS_TOPIC, sendNew);
      // A graceful shutdown ends the stream once what is being sent is sent; the client
      // reconnects (to another instance) with Last-Event-ID and misses nothing.
      const endOnDrain = (): void => {
        unsubscribe();
        cancelKeepAlive();
        void Promise.resolve(sending).then(() => stream.end());
      };
      context.metrics.eventStreams.inc();
      res.once('close', () => {
        context.draining.removeEventListener('abort', endOnDrain);
        context.metrics.eventStreams.dec();
        unsubscribe();
        cancelKeepAlive();
        stream.end();
      });
      res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
      res.setHeader('X-Accel-Buffering', 'no');
      stream.write('retry: 5000\n\n');
      sendNew();
      keepAlive();
      if (context.draining.aborted) endOnDrain();
      else context.draining.addEventListener('abort', endOnDrain, { once: true });
      // ts-rest pipes a Stream body to the response as it is (and skips response validation):
      // the contract types the body as the string it becomes on the wire.
      return { status: 200, body: stream as unknown as string };
    },

    simulateEvent: async ({ body, req }) => {
      const principal = principalOf(req);
      let siteId = body.site_id ?? null;
      if (body.device_id !== undefined) {
        const device = await context.db
          .selectFrom('devices')
          .select('site_id')
          .where('id', '=', body.device_id)
          .executeTakeFirst();
        if (!device) throw problems.unknownReference('device', [body.device_id]);
        if (siteId !== null && siteId !== device.site_id)
          throw problems.unprocessable(
            'event_site_mismatch',
            `Device ${body.device_id} is not on site ${siteId}; leave site_id out to use the device's site.`,
          );
        siteId = device.site_id;
      } else if (siteId !== null) await assertUsableSite(context, principal, siteId);
      const row = await emitEvent(context, {
        type: body.type,
        severity: body.severity ?? 'info',
        siteId,
        deviceId: body.device_id ?? null,
        message: body.message ?? `Simulated ${body.type} event`,
        data: { ...body.data, simulated: true },
      });
      return { status: 201, body: toEvent(row) };
    },

    acknowledgeEvents: async ({ body, req }) => {
      const principal = principalOf(req);
      if (body.event_ids !== undefined && body.filter !== undefined) {
        throw problems.unprocessable('ambiguous_selection', 'Send either event_ids or filter, not both.');
      }
      const select =
        body.event_ids !== undefined
          ? selectEvents(context, principal).where('id', 'in', body.event_ids)
          : selectEvents(context, principal).where(matching(body.filter ?? {}));
      return { status: 200, body: { acknowledged_count: await acknowledge(principal, select) } };
    },

    countUnacknowledgedEvents: async ({ query, req }) => {
      const rows = await selectEvents(context, principalOf(req))
        .where(matching({ ...query, acknowledged: false }))
        .clearSelect()
        .select(['severity', (eb) => eb.fn.countAll().as('n')])
        .groupBy('severity')
        .execute();
      const bySeverity = Object.fromEntries(
        SEVERITIES.map((severity) => [
          severity,
          Number(rows.find((row) => row.severity === severity)?.n ?? 0),
        ]),
      ) as Record<EventSeverity, number>;
      return {
        status: 200,
        body: {
          count: SEVERITIES.reduce((sum, severity) => sum + bySeverity[severity], 0),
          by_severity: bySeverity,
        },
      };
    },

    getEvent: async ({ params, req }) => ({
      status: 200,
      body: toEvent(await findEvent(principalOf(req), params.event_id)),
    }),

    acknowledgeEvent: async ({ params, req }) => {
      const principal = principalOf(req);
      const event = await findEvent(principal, params.event_id);
      await acknowledge(principal, selectEvents(context, principal).where('id', '=', event.id));
      return { status: 200, body: toEvent(await findEvent(principal, event.id)) };
    },
  });
}

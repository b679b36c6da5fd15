import { PassThrough } from 'node:stream';
import { initServer } from '@ts-rest/express';
import type { ExpressionBuilder } from 'kysely';
import type { AppContext } from '../context';
import { contract } from '../generated/contract.gen';
import { paginate } from '../http/pagination';
import { problems } from '../http/problem';
import { oneOrNotFound } from '../store/found';
import type { AuditEventRow, Database } from '../store/schema';
import { verifyAuditChain } from './audit-log';

/** Entries sent per query while exporting; it queries again until it has all. */
const EXPORT_BATCH = 500;

interface Filter {
  actor_user_id?: string | undefined;
  resource_type?: string | undefined;
  resource?: string | undefined;
  operation?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
}

function matching(filter: Filter) {
  return (eb: ExpressionBuilder<Database, 'audit_events'>) =>
    eb.and([
      ...(filter.actor_user_id === undefined ? [] : [eb('user_id', '=', filter.actor_user_id)]),
      ...(filter.resource_type === undefined ? [] : [eb('resource_type', '=', filter.resource_type)]),
      ...(filter.resource === undefined ? [] : [eb('resource', '=', filter.resource)]),
      ...(filter.operation === undefined ? [] : [eb('operation', '=', filter.operation)]),
      ...(filter.since === undefined ? [] : [eb('occurred_at', '>=', new Date(filter.since).toISOString())]),
      ...(filter.until === undefined ? [] : [eb('occurred_at', '<', new Date(filter.until).toISOString())]),
    ]);
}

function toAuditEvent(row: AuditEventRow) {
  return {
    id: row.id,
    sequence: Number(row.sequence),
    occurred_at: row.occurred_at,
    actor: { user_id: row.user_id, api_token_id: row.api_token_id, auth_method: row.auth_method },
    operation: row.operation,
    method: row.method as 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: row.path,
    resource_type: row.resource_type,
    resource: row.resource,
    changes: JSON.parse(row.changes) as Record<string, unknown>,
    status: row.status,
    request_id: row.request_id,
    client_address: row.client_address,
    user_agent: row.user_agent,
    previous_hash: row.previous_hash,
    hash: row.hash,
    hmac: row.hmac,
  };
}

export function auditEventsHandlers(context: AppContext) {
  const select = () => context.db.selectFrom('audit_events').selectAll();

  /** The sequence of the entry a verify range starts or ends at (422 if there is none). */
  const sequenceOf = async (id: string, parameter: 'from_id' | 'to_id'): Promise<number> => {
    const row = await context.db
      .selectFrom('audit_events')
      .select('sequence')
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row)
      throw problems.unprocessable(
        'unknown_audit_event',
        `No audit event ${id} exists to verify from or to.`,
        [{ path: `/query/${parameter}`, message: 'no such audit event' }],
      );
    return Number(row.sequence);
  };

  return initServer().router(contract.auditEvents, {
    listAuditEvents: async ({ query }) => ({
      status: 200,
      body: await paginate(query, select().where(matching(query)), toAuditEvent),
    }),

    exportAuditEvents: async ({ query, res }) => {
      const stream = new PassThrough();
      let closed = false;
      res.once('close', () => {
        closed = true;
      });
      void (async () => {
        let lastId = '';
        let rows: AuditEventRow[];
        do {
          rows = await select()
            .where(matching(query))
            .where('id', '>', lastId)
            .orderBy('id')
            .limit(EXPORT_BATCH)
            .execute();
          for (const row of rows) stream.write(`${JSON.stringify(toAuditEvent(row))}\n`);
          lastId = rows.at(-1)?.id ?? lastId;
        } while (rows.length === EXPORT_BATCH && !closed);
      })()
        .catch((error: unknown) => res.log.error({ err: error }, 'audit export failed'))
        .finally(() => stream.end());
      res.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
      // ts-rest pipes a Stream body to the response as it is: the contract types it as the text it becomes.
      return { status: 200, body: stream as unknown as string };
    },

    verifyAuditEvents: async ({ query }) => {
      const fromSequence =
        query.from_id === undefined ? undefined : await sequenceOf(query.from_id, 'from_id');
      const toSequence = query.to_id === undefined ? undefined : await sequenceOf(query.to_id, 'to_id');
      if (fromSequence !== undefined && toSequence !== undefined && toSequence < fromSequence)
        throw problems.unprocessable(
          'empty_window',
          `The entry to_id ${query.to_id} comes before from_id ${query.from_id}; swap them.`,
          [{ path: '/query/to_id', message: 'before from_id' }],
        );
      return {
        status: 200,
        body: await verifyAuditChain(context, { ...query, fromSequence, toSequence }),
      };
    },

    getAuditEvent: async ({ params }) => ({
      status: 200,
      body: toAuditEvent(
        await oneOrNotFound(
          select().where('id', '=', params.audit_event_id),
          'audit event',
          params.audit_event_id,
        ),
      ),
    }),
  });
}

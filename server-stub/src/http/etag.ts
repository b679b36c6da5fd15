/**
 * Optimistic concurrency for the resources updated with `If-Match`: each carries a version
 * number that every update increments, and its ETag is that number.
 */
import type { Request, Response } from 'express';
import type { AppRoute, ServerInferRequest } from '@ts-rest/core';
import type { Kysely, Updateable } from 'kysely';
import type { AppContext } from '../context';
import type { Database } from '../store/schema';
import { problems } from './problem';

type VersionedTable =
  | 'users'
  | 'roles'
  | 'sites'
  | 'devices'
  | 'device_filters'
  | 'monitored_processes'
  | 'alert_rules'
  | 'webhooks'
  | 'notification_channels'
  | 'identity_providers'
  | 'schedules'
  | 'custom_fields'
  | 'device_views'
  | 'scripts';

const etagOf = (version: number): string => `"${version}"`;

export function setEtag(res: Response, version: number): void {
  res.setHeader('ETag', etagOf(version));
}

/** Throws 412 unless `If-Match` is absent, `*`, or lists the current version. */
function checkIfMatch(ifMatch: string | undefined, version: number): void {
  if (ifMatch === undefined) return;
  const current = etagOf(version);
  const sent = ifMatch.split(',').map((tag) => tag.trim().replace(/^W\//, ''));
  if (!sent.includes('*') && !sent.includes(current)) throw problems.preconditionFailed(ifMatch, current);
}

interface VersionedUpdate<Table extends VersionedTable, Row> {
  table: Table;
  ifMatch: string | undefined;
  /** Reads the resource as the caller may see it (its 404 included). */
  read: () => Promise<Row>;
  /** The handler's own checks of the request against the current row, then the columns to change. */
  changes: (current: Row) => Updateable<Database[Table]> | Promise<Updateable<Database[Table]>>;
  /** Further writes in the same transaction (a user's site assignments, …). */
  alongside?: (trx: Kysely<Database>, current: Row) => Promise<void>;
}

/**
 * A PATCH with `If-Match`: check the precondition, write the changes only if the row is still
 * at the version read (bumping it), and read the result again. If another update
 * won the race, it starts over from a fresh read: a stale If-Match then fails with 412, and a
 * request without one is checked again against what the resource has become.
 */
async function updateWithIfMatch<Table extends VersionedTable, Row extends { id: string; version: number }>(
  context: AppContext,
  update: VersionedUpdate<Table, Row>,
): Promise<Row> {
  for (;;) {
    const current = await update.read();
    checkIfMatch(update.ifMatch, current.version);
    const changes = await update.changes(current);
    const written = await context.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable(update.table as VersionedTable)
        .set(
          (eb) =>
            ({
              ...changes,
              version: eb('version', '+', 1),
              updated_at: context.now().toISOString(),
            }) as never,
        )
        .where('id', '=', current.id)
        .where('version', '=', current.version)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return false;
      await update.alongside?.(trx, current);
      return true;
    });
    if (written) return update.read();
  }
}

/** What ts-rest gives every handler, with the path parameters that name the resource. */
export interface RouteArgs<Params = unknown> {
  params: Params;
  req: Request;
  res: Response;
}

/** What ts-rest gives the handler of `route` (a contract operation). */
export type HandlerArgs<Route extends AppRoute> = ServerInferRequest<Route> &
  RouteArgs<ServerInferRequest<Route>['params']>;

/**
 * The GET and the If-Match PATCH of a versioned resource, from how the resource is read (its
 * 404 included) and presented: `get` answers it with its ETag; `update(changes, alongside, committed)`
 * runs `updateWithIfMatch` with the handler's own checks, calls `committed` once the change is
 * committed (to forget what was cached of it), and answers the result with its new ETag.
 */
export function versionedRoutes<
  Table extends VersionedTable,
  Args extends RouteArgs,
  Row extends { id: string; version: number },
  Body,
>(
  context: AppContext,
  resource: {
    table: Table;
    read: (args: Args) => Promise<Row>;
    present: (row: Row) => Body | Promise<Body>;
  },
) {
  const answer = async (res: Response, row: Row) => {
    setEtag(res, row.version);
    return { status: 200 as const, body: await resource.present(row) };
  };
  return {
    get: async (args: Args) => answer(args.res, await resource.read(args)),
    update:
      <UpdateArgs extends Args & { headers: { 'if-match'?: string | undefined } }>(
        changes: (args: UpdateArgs, current: Row) => ReturnType<VersionedUpdate<Table, Row>['changes']>,
        alongside?: (trx: Kysely<Database>, args: UpdateArgs, current: Row) => Promise<void>,
        committed?: () => void,
      ) =>
      async (args: UpdateArgs) => {
        const updated = await updateWithIfMatch<Table, Row>(context, {
          table: resource.table,
          ifMatch: args.headers['if-match'],
          read: () => resource.read(args),
          changes: (current) => changes(args, current),
          ...(alongside ? { alongside: (trx, current) => alongside(trx, args, current) } : {}),
        });
        committed?.();
        return answer(args.res, updated);
      },
  };
}

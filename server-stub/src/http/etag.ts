/**
 * Optimistic concurrency for the resources updated with `If-Match`: each carries a version
 * number that every update increments, and its ETag is that number.
 */
import type { Response } from 'express';
import type { Kysely, Updateable } from 'kysely';
import type { AppContext } from '../context';
import type { Database } from '../store/schema';
import { problems } from './problem';

type VersionedTable = 'users' | 'sites' | 'devices' | 'monitored_processes';

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

export interface VersionedUpdate<Table extends VersionedTable, Row> {
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
 * at the version read (bumping it), read the result again and set its ETag. If another update
 * won the race, it starts over from a fresh read: a stale If-Match then fails with 412, and a
 * request without one is checked again against what the resource has become.
 */
export async function updateWithIfMatch<
  Table extends VersionedTable,
  Row extends { id: string; version: number },
>(context: AppContext, res: Response, update: VersionedUpdate<Table, Row>): Promise<Row> {
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
    if (written) {
      const updated = await update.read();
      setEtag(res, updated.version);
      return updated;
    }
  }
}

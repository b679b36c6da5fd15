/**
 * Optimistic concurrency for the resources updated with `If-Match` (http/etag.ts): a change is
 * written only if the row is still at the version the caller read, and bumps that version.
 */
import type { Kysely, Updateable } from 'kysely';
import type { AppContext } from '../context';
import { problems } from '../http/problem';
import type { Database } from './schema';

type VersionedTable = 'users' | 'sites' | 'devices' | 'monitored_processes';

export async function updateIfUnchanged<Table extends VersionedTable>(
  context: AppContext,
  table: Table,
  current: { id: string; version: number },
  ifMatch: string | undefined,
  changes: Updateable<Database[Table]>,
  db: Kysely<Database> = context.db,
): Promise<void> {
  const result = await db
    .updateTable(table as VersionedTable)
    .set(
      (eb) =>
        ({ ...changes, version: eb('version', '+', 1), updated_at: context.now().toISOString() }) as never,
    )
    .where('id', '=', current.id)
    .where('version', '=', current.version)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0)
    throw problems.preconditionFailed(ifMatch ?? '(none)', 'a newer version');
}

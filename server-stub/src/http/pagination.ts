/**
 * Cursor pagination shared by every list: items come in ID order (IDs are time-sortable, so
 * that is creation order), and the cursor is an opaque token naming the last item returned.
 * A list handler hands `paginate` its filtered query; the cursor window, the order and the
 * limit are applied here and nowhere else.
 */
import { type SelectQueryBuilder, sql } from 'kysely';
import { problems } from './problem';

export interface PageParams {
  limit: number;
  cursor?: string | undefined;
}

export interface Page<Item> {
  data: Item[];
  next_cursor: string | null;
}

const encode = (id: string): string => Buffer.from(JSON.stringify({ after: id })).toString('base64url');

function decode(cursor: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof parsed.after === 'string' && /^[a-z]+_[0-9A-Z]{26}$/.test(parsed.after)) return parsed.after;
  } catch {
    // fall through to the error below
  }
  throw problems.validation([
    { path: '/query/cursor', message: 'Not a cursor this API returned; pass next_cursor unchanged.' },
  ]);
}

/**
 * One page of `select`'s rows as items. `idColumn` names the ID to page by where the query
 * joins tables (`c.id`); the query must not order or limit itself. `desc` pages newest first.
 */
export async function paginate<DB, TB extends keyof DB, Row extends { id: string }, Item>(
  params: PageParams,
  select: SelectQueryBuilder<DB, TB, Row>,
  toItem: (row: Row) => Item,
  idColumn = 'id',
  order: 'asc' | 'desc' = 'asc',
): Promise<Page<Item>> {
  const afterId = params.cursor === undefined ? undefined : decode(params.cursor);
  const id = sql.ref<string>(idColumn);
  // One row more than the page, to know whether another page follows.
  const rows = await select
    .$if(afterId !== undefined, (qb) => qb.where(id, order === 'asc' ? '>' : '<', afterId!))
    .orderBy(id, order)
    .limit(params.limit + 1)
    .execute();
  const page = rows.slice(0, params.limit);
  const last = page[page.length - 1];
  return { data: page.map(toItem), next_cursor: rows.length > params.limit && last ? encode(last.id) : null };
}

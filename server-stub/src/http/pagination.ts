/**
 * Cursor pagination shared by every list: items come in ID order (IDs are time-sortable, so
 * that is creation order), or sorted by a column with the ID breaking ties, and the cursor is an
 * opaque token naming the last item returned (and, when sorted, the sort and that item's sort
 * value: a keyset, so pages stay correct while rows come and go). A list handler hands
 * `paginate` its filtered query; the cursor window, the order and the limit are applied here and
 * nowhere else.
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

/** A list sorted by a column (ties broken by ID), as the list's `sort` parameter names it. */
export interface SortOrder {
  /** The `sort` value (`-last_seen_at`); a cursor made with one sort is refused with another. */
  name: string;
  /** The column, as the rows name it; not NULL (the cursor holds its value). */
  column: string;
  direction: 'asc' | 'desc';
}

/** Where the next page starts: after this ID (and, when sorted, this sort value). */
interface Position {
  after: string;
  sort?: string;
  key?: string;
}

const encode = (position: Position): string => Buffer.from(JSON.stringify(position)).toString('base64url');

function decode(cursor: string, sort: SortOrder | undefined): Position {
  let parsed: Partial<Record<keyof Position, unknown>> | undefined;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as typeof parsed;
  } catch {
    // refused below
  }
  if (typeof parsed?.after !== 'string' || !/^[a-z]+_[0-9A-Z]{26}$/.test(parsed.after))
    throw problems.validation([
      { path: '/query/cursor', message: 'Not a cursor this API returned; pass next_cursor unchanged.' },
    ]);
  if (parsed.sort !== sort?.name || (sort !== undefined && typeof parsed.key !== 'string'))
    throw problems.validation([
      {
        path: '/query/cursor',
        message: `This cursor was made with ${parsed.sort === undefined ? 'no sort' : `sort=${String(parsed.sort)}`}; pass the same sort with it.`,
      },
    ]);
  return parsed as Position;
}

/**
 * One page of `select`'s rows as items. `idColumn` names the ID to page by where the query
 * joins tables (`c.id`); the query must not order or limit itself. `desc` pages newest first; a
 * SortOrder sorts by its column, then by ID in the same direction.
 */
export async function paginate<DB, TB extends keyof DB, Row extends { id: string }, Item>(
  params: PageParams,
  select: SelectQueryBuilder<DB, TB, Row>,
  toItem: (row: Row) => Item,
  idColumn = 'id',
  order: 'asc' | 'desc' | SortOrder = 'asc',
): Promise<Page<Item>> {
  const sort = typeof order === 'string' ? undefined : order;
  const direction = sort?.direction ?? (order as 'asc' | 'desc');
  const position = params.cursor === undefined ? undefined : decode(params.cursor, sort);
  const id = sql.ref<string>(idColumn);
  const key = sort && sql.ref<string>(sort.column);
  const beyond = direction === 'asc' ? sql.raw('>') : sql.raw('<');
  // One row more than the page, to know whether another page follows.
  const rows = await select
    .$if(position !== undefined, (qb) =>
      key === undefined
        ? qb.where(id, direction === 'asc' ? '>' : '<', position!.after)
        : qb.where(sql<boolean>`(${key}, ${id}) ${beyond} (${position!.key}, ${position!.after})`),
    )
    .$if(key !== undefined, (qb) => qb.orderBy(key!, direction))
    .orderBy(id, direction)
    .limit(params.limit + 1)
    .execute();
  const page = rows.slice(0, params.limit);
  const last = page[page.length - 1];
  const positionAfter = (row: Row): Position =>
    sort === undefined
      ? { after: row.id }
      : { after: row.id, sort: sort.name, key: String((row as Record<string, unknown>)[sort.column] ?? '') };
  return {
    data: page.map(toItem),
    next_cursor: rows.length > params.limit && last ? encode(positionAfter(last)) : null,
  };
}

/**
 * Cursor pagination shared by every list: items come in ID order (IDs are time-sortable, so
 * that is creation order), and the cursor is an opaque token naming the last item returned.
 */
import { problems } from './problem';

export interface PageParams {
  limit: number;
  cursor?: string | undefined;
}

export interface Window {
  /** Only rows with an ID greater than this. */
  afterId: string | undefined;
  /** How many rows to fetch: one more than the page, to know whether another page follows. */
  take: number;
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

export async function paginate<Row extends { id: string }, Item>(
  params: PageParams,
  fetchRows: (window: Window) => Promise<Row[]>,
  toItem: (row: Row) => Item,
): Promise<Page<Item>> {
  const afterId = params.cursor === undefined ? undefined : decode(params.cursor);
  const rows = await fetchRows({ afterId, take: params.limit + 1 });
  const page = rows.slice(0, params.limit);
  const last = page[page.length - 1];
  return { data: page.map(toItem), next_cursor: rows.length > params.limit && last ? encode(last.id) : null };
}

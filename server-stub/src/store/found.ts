/** Reading one resource by the ID in the URL. */
import { problems } from '../http/problem';

/** The row `select` finds, or the 404 saying no `what` `id` exists (or the caller cannot see it). */
export async function oneOrNotFound<Row>(
  select: { executeTakeFirst(): Promise<Row | undefined> },
  what: string,
  id: string,
): Promise<Row> {
  const row = await select.executeTakeFirst();
  if (row === undefined) throw problems.notFound(what, id);
  return row;
}

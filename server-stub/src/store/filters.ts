/** Filters of list operations, shared by their handlers. */
import type { SelectQueryBuilder, StringReference } from 'kysely';

/**
 * The equality filters among a list's query parameters: each column given a value must equal
 * it, and a parameter left out filters nothing.
 */
export function whereEqual<DB, TB extends keyof DB, O>(
  select: SelectQueryBuilder<DB, TB, O>,
  filters: Partial<Record<StringReference<DB, TB>, unknown>>,
): SelectQueryBuilder<DB, TB, O> {
  return Object.entries(filters).reduce(
    (query, [column, value]) =>
      value === undefined ? query : query.where(column as StringReference<DB, TB>, '=', value as never),
    select,
  );
}

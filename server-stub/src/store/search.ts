import { type Expression, type RawBuilder, sql } from 'kysely';

/**
 * `column` contains `text`, ignoring case, on SQLite and PostgreSQL alike. `%` and `_` typed by
 * a user are literal characters, not wildcards.
 */
export function containsText(column: string, text: string): RawBuilder<boolean> {
  return likeText(sql.ref(column), text, 'contains');
}

/** `value` contains, starts with or ends with `text`, ignoring case, wildcards taken literally. */
export function likeText(
  value: Expression<unknown>,
  text: string,
  match: 'contains' | 'starts_with' | 'ends_with',
): RawBuilder<boolean> {
  const literal = text.toLowerCase().replace(/[\\%_]/g, (char) => `\\${char}`);
  const pattern = `${match === 'starts_with' ? '' : '%'}${literal}${match === 'ends_with' ? '' : '%'}`;
  return sql<boolean>`lower(${value}) like ${pattern} escape '\\'`;
}

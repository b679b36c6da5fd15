import { sql, type RawBuilder } from 'kysely';

/**
 * `column` contains `text`, ignoring case, on SQLite and PostgreSQL alike. `%` and `_` typed by
 * a user are literal characters, not wildcards.
 */
export function containsText(column: string, text: string): RawBuilder<boolean> {
  const pattern = `%${text.toLowerCase().replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
  return sql<boolean>`lower(${sql.ref(column)}) like ${pattern} escape '\\'`;
}

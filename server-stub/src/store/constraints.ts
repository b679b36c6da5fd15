/** Telling the database's refusals apart, on both engines. */

/**
 * A write the database refused for a foreign key: a row deleted while another still refers to it
 * (ON DELETE RESTRICT), or a reference to a row that is gone. PostgreSQL's SQLSTATE 23503,
 * better-sqlite3's SQLITE_CONSTRAINT_FOREIGNKEY.
 */
export function isForeignKeyViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

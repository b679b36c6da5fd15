/** Telling the database's refusals apart, on both engines. */

/**
 * A write the database refused for a foreign key: a row deleted while another still refers to it
 * (ON DELETE RESTRICT), or a reference to a row that is gone. PostgreSQL's SQLSTATE 23503; on
 * SQLite better-sqlite3 says SQLITE_CONSTRAINT_FOREIGNKEY for the second but
 * SQLITE_CONSTRAINT_TRIGGER for the first, both with the message "FOREIGN KEY constraint failed".
 */
export function isForeignKeyViolation(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code === '23503') return true;
  return (
    typeof code === 'string' &&
    code.startsWith('SQLITE_CONSTRAINT') &&
    typeof message === 'string' &&
    message.includes('FOREIGN KEY')
  );
}

/**
 * The audit key signs every audit entry's hash (audit-log.ts). It is kept outside the database,
 * so that whoever can write to the database cannot forge entries:
 * - `MERIDIAN_AUDIT_KEY` (the `auditKey` option), at least 32 characters, when given;
 * - otherwise, on a SQLite file, a random key in a file beside it (`<database>.audit-key`,
 *   readable by its owner only), created on first start and read on every later one;
 * - on `:memory:`, a random key for this process (the database does not outlive it either);
 * - on PostgreSQL it must be given: every instance appends to the same chain, so all of them
 *   need the same key.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Engine } from '../store/database';

export const MIN_AUDIT_KEY_LENGTH = 32;

export interface AuditKey {
  key: Buffer;
  /** Where it came from, for the start-up message. */
  source: string;
}

function checked(key: string, from: string): Buffer {
  if (key.length < MIN_AUDIT_KEY_LENGTH)
    throw new Error(
      `${from} must be at least ${MIN_AUDIT_KEY_LENGTH} characters (try: openssl rand -hex 32)`,
    );
  return Buffer.from(key, 'utf8');
}

function keyFile(path: string): Buffer {
  try {
    return checked(readFileSync(path, 'utf8').trim(), `The audit key in ${path}`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  // `wx`: if another process created it meanwhile, fail rather than overwrite its key.
  writeFileSync(path, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  return checked(readFileSync(path, 'utf8').trim(), `The audit key in ${path}`);
}

export function resolveAuditKey(given: string | undefined, database: string, engine: Engine): AuditKey {
  if (given !== undefined) return { key: checked(given, 'MERIDIAN_AUDIT_KEY'), source: 'MERIDIAN_AUDIT_KEY' };
  if (engine === 'postgres')
    throw new Error(
      'MERIDIAN_AUDIT_KEY is required with PostgreSQL: every instance signs the same audit chain with it',
    );
  if (database === ':memory:')
    return { key: randomBytes(32), source: 'generated for this in-memory database (lost when it stops)' };
  const path = `${database}.audit-key`;
  return { key: keyFile(path), source: path };
}

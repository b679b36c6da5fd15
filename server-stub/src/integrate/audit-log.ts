/**
 * The audit log as a hash chain. Each entry stores the hash of the entry before it
 * (`previous_hash`), its own `hash` (SHA-256 over `previous_hash` and a canonical serialisation
 * of the entry), and an `hmac` of that hash under the audit key, which lives outside the
 * database (audit-key.ts): someone who can write to the database can change an entry and even
 * recompute its hash, but not sign it.
 *
 * Appends are serialised on the chain's head row (`audit_chain`, locked FOR UPDATE on
 * PostgreSQL; SQLite runs one write transaction at a time), so several instances append to one
 * chain. The head also remembers the last sequence and hash, so removing the newest entries is
 * caught like removing any other.
 */
import { createHash, createHmac } from 'node:crypto';
import type { Insertable } from 'kysely';
import type { AppContext } from '../context';
import { newId } from '../store/ids';
import type { AuditEventRow, AuditEventsTable } from '../store/schema';

/** The `previous_hash` of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);
const VERIFY_BATCH = 500;

/** What the audit middleware knows of a request once it is answered. */
export type AuditRecord = Omit<
  AuditEventRow,
  'id' | 'sequence' | 'occurred_at' | 'previous_hash' | 'hash' | 'hmac'
>;

type Chained = Omit<AuditEventRow, 'hash' | 'hmac'>;

/** The entry's fields in a fixed order, as JSON: the same text for the same entry, on any engine. */
function canonical(entry: Chained): string {
  return JSON.stringify([
    entry.id,
    Number(entry.sequence),
    entry.occurred_at,
    entry.user_id,
    entry.api_token_id,
    entry.auth_method,
    entry.operation,
    entry.method,
    entry.path,
    entry.resource_type,
    entry.resource,
    entry.changes,
    entry.status,
    entry.request_id,
    entry.client_address,
    entry.user_agent,
    entry.previous_hash,
  ]);
}

export function entryHash(entry: Chained): string {
  return createHash('sha256').update(entry.previous_hash).update('\n').update(canonical(entry)).digest('hex');
}

export function entryHmac(key: Buffer, hash: string): string {
  return createHmac('sha256', key).update(hash).digest('hex');
}

/** Appends one entry at the head of the chain. */
export async function appendAuditEvent(context: AppContext, record: AuditRecord): Promise<void> {
  await context.db.transaction().execute(async (trx) => {
    const head = await trx
      .selectFrom('audit_chain')
      .selectAll()
      .where('id', '=', 1)
      .$if(context.engine === 'postgres', (qb) => qb.forUpdate())
      .executeTakeFirstOrThrow();
    const sequence = Number(head.sequence) + 1;
    const chained: Chained = {
      ...record,
      id: newId('aud'),
      sequence,
      occurred_at: context.now().toISOString(),
      previous_hash: head.hash,
    };
    const hash = entryHash(chained);
    const row: Insertable<AuditEventsTable> = { ...chained, hash, hmac: entryHmac(context.auditKey, hash) };
    await trx.insertInto('audit_events').values(row).execute();
    await trx.updateTable('audit_chain').set({ sequence, hash }).where('id', '=', 1).execute();
  });
}

export interface ChainBreak {
  audit_event_id: string | null;
  sequence: number;
  reason: 'hash_mismatch' | 'hmac_mismatch' | 'previous_hash_mismatch' | 'entries_missing';
  detail: string;
}

export interface Verification {
  intact: boolean;
  checked_count: number;
  first_sequence: number | null;
  last_sequence: number | null;
  break: ChainBreak | null;
}

const missing = (sequence: number, next: AuditEventRow | undefined): ChainBreak => ({
  audit_event_id: next?.id ?? null,
  sequence,
  reason: 'entries_missing',
  detail: next
    ? `Entries ${sequence} to ${Number(next.sequence) - 1} are missing before entry ${next.sequence}; they were deleted.`
    : `The newest entries, from ${sequence} on, are missing; they were deleted.`,
});

/** Why `row` does not belong after an entry whose hash is `previousHash`, if it does not. */
function brokenLink(key: Buffer, row: AuditEventRow, previousHash: string): ChainBreak | null {
  const sequence = Number(row.sequence);
  const at = (reason: ChainBreak['reason'], detail: string): ChainBreak => ({
    audit_event_id: row.id,
    sequence,
    reason,
    detail,
  });
  if (entryHash(row) !== row.hash)
    return at(
      'hash_mismatch',
      `The content of entry ${sequence} no longer gives its hash; it was changed after it was recorded.`,
    );
  if (entryHmac(key, row.hash) !== row.hmac)
    return at(
      'hmac_mismatch',
      `Entry ${sequence} is not signed with this server's audit key; it was rewritten without the key, or the key changed.`,
    );
  if (row.previous_hash !== previousHash)
    return at(
      'previous_hash_mismatch',
      `Entry ${sequence} does not follow the entry before it; entries were replaced or reordered.`,
    );
  return null;
}

/** The entries to verify: recorded in [since, until), and with a sequence in [from, to]; each bound optional. */
export interface VerifiedRange {
  since?: string | undefined;
  until?: string | undefined;
  fromSequence?: number | undefined;
  toSequence?: number | undefined;
}

/**
 * Walks the chain in sequence order (only the entries in `range` when given, and the link to
 * the entry before them) and reports the first break.
 */
export async function verifyAuditChain(context: AppContext, range: VerifiedRange): Promise<Verification> {
  const { db } = context;
  const inRange = db
    .selectFrom('audit_events')
    .selectAll()
    .$if(range.since !== undefined, (qb) =>
      qb.where('occurred_at', '>=', new Date(range.since!).toISOString()),
    )
    .$if(range.until !== undefined, (qb) =>
      qb.where('occurred_at', '<', new Date(range.until!).toISOString()),
    )
    .$if(range.fromSequence !== undefined, (qb) => qb.where('sequence', '>=', range.fromSequence!))
    .$if(range.toSequence !== undefined, (qb) => qb.where('sequence', '<=', range.toSequence!));
  const result: Verification = {
    intact: true,
    checked_count: 0,
    first_sequence: null,
    last_sequence: null,
    break: null,
  };
  const broken = (at: ChainBreak): Verification => ({ ...result, intact: false, break: at });

  // Where the walk starts: the genesis, or the entry right before the first one in range.
  let expected = 1;
  let previousHash = GENESIS_HASH;
  const first = await inRange.orderBy('sequence').limit(1).executeTakeFirst();
  const hasStart = range.since !== undefined || range.fromSequence !== undefined;
  if (hasStart && first && Number(first.sequence) > 1) {
    expected = Number(first.sequence);
    const before = await db
      .selectFrom('audit_events')
      .select('hash')
      .where('sequence', '=', expected - 1)
      .executeTakeFirst();
    if (!before) return broken(missing(expected - 1, first));
    previousHash = before.hash;
  }

  let rows: AuditEventRow[];
  do {
    rows = await inRange.where('sequence', '>=', expected).orderBy('sequence').limit(VERIFY_BATCH).execute();
    for (const row of rows) {
      const sequence = Number(row.sequence);
      if (sequence !== expected) return broken(missing(expected, row));
      const link = brokenLink(context.auditKey, row, previousHash);
      if (link) return broken(link);
      result.checked_count += 1;
      result.first_sequence ??= sequence;
      result.last_sequence = sequence;
      expected = sequence + 1;
      previousHash = row.hash;
    }
  } while (rows.length === VERIFY_BATCH);

  // Up to the end of the chain: the head says how far it goes.
  if (range.until === undefined && range.toSequence === undefined) {
    const head = await db.selectFrom('audit_chain').selectAll().where('id', '=', 1).executeTakeFirstOrThrow();
    if (Number(head.sequence) >= expected) return broken(missing(expected, undefined));
  }
  return result;
}

/**
 * Group commit: small writes that arrive together share one transaction. Each commit costs more
 * than the write it ends (SQLite appends the changed pages to its log, PostgreSQL flushes its log),
 * so a write that many requests make at once (a heartbeat's device row) is queued, and every write
 * queued in the same turn of the event loop runs in one transaction, which each caller awaits: a
 * caller is answered only once its write is committed, so nothing it was told is lost to a crash,
 * and what it reads next includes it.
 *
 * The writes of a group run in the order of their keys (the row each locks), so that two groups
 * (two instances on one PostgreSQL database) lock shared rows in the same order and never deadlock.
 * When the group's transaction fails, each write runs again alone, so that one write's failure (a
 * device deleted meanwhile) is its caller's only.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema';

/** Writes per transaction, at most: a long transaction would hold up every other query on SQLite. */
const GROUP_SIZE = 200;

type Write<T> = (trx: Transaction<Database>) => Promise<T>;

interface Queued {
  key: string;
  write: Write<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

const queues = new WeakMap<Kysely<Database>, Queued[]>();

async function commitGroup(db: Kysely<Database>, group: Queued[]): Promise<void> {
  try {
    const results = await db.transaction().execute(async (trx) => {
      const done: unknown[] = [];
      for (const queued of group) done.push(await queued.write(trx));
      return done;
    });
    for (const [index, queued] of group.entries()) queued.resolve(results[index]);
  } catch {
    for (const queued of group)
      await db.transaction().execute(queued.write).then(queued.resolve, queued.reject);
  }
}

async function commitQueue(db: Kysely<Database>): Promise<void> {
  const queue = queues.get(db)!;
  queues.delete(db);
  queue.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (let start = 0; start < queue.length; start += GROUP_SIZE)
    await commitGroup(db, queue.slice(start, start + GROUP_SIZE));
}

/**
 * Runs `write` in the transaction of every write queued on `db` in this turn of the event loop;
 * `key` names the row it locks. Resolves with its result once that transaction is committed.
 */
export function inGroupCommit<T>(db: Kysely<Database>, key: string, write: Write<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let queue = queues.get(db);
    if (!queue) {
      queue = [];
      queues.set(db, queue);
      setImmediate(() => void commitQueue(db));
    }
    queue.push({ key, write, resolve: resolve as (value: unknown) => void, reject });
  });
}

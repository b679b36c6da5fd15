/**
 * Account lockout: MERIDIAN_LOCKOUT_THRESHOLD failed sign-ins of one username within
 * MERIDIAN_LOCKOUT_WINDOW_MINUTES lock it for MERIDIAN_LOCKOUT_MINUTES, or until an admin unlocks it.
 *
 * Failures are counted per username whether or not an account has it, under a hash of the
 * lowercased username, so a made-up username is locked out exactly like a real one and the
 * answers never tell them apart; both run the same queries. Like the failed sign-in rate limit
 * (http/rate-limit.ts), the counters live in the database every instance shares, updated by one
 * atomic upsert; unlike it, they are kept in a table of their own on both engines (migration 029)
 * and timed by the server's clock, because the lock is also shown on the user (`locked_until`)
 * and the tests must be able to move past it without waiting (rate-limiter-flexible reads the
 * wall clock).
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { AppContext } from '../context';
import { problems } from '../http/problem';

const keyOf = (username: string): string => createHash('sha256').update(username.toLowerCase()).digest('hex');

/** When the current lock of this username ends, or null when it is not locked. */
export async function lockedUntil(context: AppContext, username: string): Promise<string | null> {
  const row = await context.db
    .selectFrom('login_failures')
    .select('locked_until')
    .where('username_hash', '=', keyOf(username))
    .executeTakeFirst();
  const until = row?.locked_until ?? null;
  return until !== null && until > context.now().toISOString() ? until : null;
}

/** The answer to every sign-in of a locked username, whatever it proved. */
export const accountLocked = () =>
  problems.unauthenticated(
    'account_locked',
    'Too many failed sign-ins: this account is locked for a while, or until an admin unlocks it.',
  );

/** Refuses (401 account_locked) a sign-in of `username` while it is locked. */
export async function refuseIfLocked(context: AppContext, username: string): Promise<void> {
  if ((await lockedUntil(context, username)) !== null) throw accountLocked();
}

/**
 * Counts a failed sign-in of `username` (a wrong password, directory password or passkey); the
 * one that reaches the threshold locks it. Failures while it is locked do not lengthen the lock.
 */
export async function recordFailure(context: AppContext, username: string): Promise<void> {
  const { threshold, windowMinutes, lockMinutes } = context.lockout;
  const now = context.now();
  const nowIso = now.toISOString();
  const windowStart = new Date(now.getTime() - windowMinutes * 60_000).toISOString();
  const key = keyOf(username);
  // A window that has ended starts again with this failure.
  const expired = sql<boolean>`login_failures.window_started_at <= ${windowStart}`;
  const counted = await context.db
    .insertInto('login_failures')
    .values({ username_hash: key, failures: 1, window_started_at: nowIso, locked_until: null })
    .onConflict((oc) =>
      oc
        .column('username_hash')
        .doUpdateSet({
          failures: sql`CASE WHEN ${expired} THEN 1 ELSE login_failures.failures + 1 END`,
          window_started_at: sql`CASE WHEN ${expired} THEN ${nowIso} ELSE login_failures.window_started_at END`,
        })
        .where((eb) =>
          eb.or([
            eb('login_failures.locked_until', 'is', null),
            eb('login_failures.locked_until', '<=', nowIso),
          ]),
        ),
    )
    .returning('failures')
    .executeTakeFirst();
  if (counted === undefined || counted.failures < threshold) return;
  const until = new Date(now.getTime() + lockMinutes * 60_000).toISOString();
  await context.db
    .updateTable('login_failures')
    .set({ failures: 0, window_started_at: nowIso, locked_until: until })
    .where('username_hash', '=', key)
    .execute();
  // Matches no row for a made-up username: the same statement either way.
  await context.db
    .updateTable('users')
    .set({ locked_until: until })
    .where('username', '=', username.toLowerCase())
    .execute();
}

/**
 * Forgets the failures and ends any lock (a successful sign-in, an admin's unlock, a password
 * reset, the owner's `npm run admin -- reset-password`).
 */
export async function clearFailures(context: Pick<AppContext, 'db'>, username: string): Promise<void> {
  await context.db.deleteFrom('login_failures').where('username_hash', '=', keyOf(username)).execute();
  await context.db
    .updateTable('users')
    .set({ locked_until: null })
    .where('username', '=', username.toLowerCase())
    .where('locked_until', 'is not', null)
    .execute();
}

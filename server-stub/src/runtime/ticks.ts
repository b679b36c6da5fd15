/**
 * Periodic work once per tick across instances. Every instance ticks on its own timers; a tick
 * first claims the interval in `background_ticks` with one conditional write (moving the work's
 * `next_run_at` on by the interval when it is due), and only the instance whose write took does
 * the work. The others' ticks in the same interval do nothing, and if the instance that ran it
 * stops, the next tick of another one takes over. A `next_run_at` more than an interval ahead
 * (a clock set back) is claimable too, so the work never stalls.
 */
import type { AppContext } from '../context';

/** Whether this instance does the tick of `work` now (and no other does until `intervalMs` pass). */
export async function claimTick(context: AppContext, work: string, intervalMs: number): Promise<boolean> {
  const now = context.now();
  const next = new Date(now.getTime() + intervalMs).toISOString();
  const claimed = await context.db
    .insertInto('background_ticks')
    .values({ work, next_run_at: next })
    .onConflict((oc) =>
      oc
        .column('work')
        .doUpdateSet({ next_run_at: next })
        .where((eb) =>
          eb.or([
            eb('background_ticks.next_run_at', '<=', now.toISOString()),
            eb('background_ticks.next_run_at', '>', next),
          ]),
        ),
    )
    .returning('work')
    .executeTakeFirst();
  return claimed !== undefined;
}

/**
 * Schedules with several instances: two servers on one PostgreSQL database tick side by side
 * (each on its own test clock, moved together) and every run of every schedule starts one job.
 */
import { describe, expect, it } from 'vitest';
import { createSchedule } from '@meridian/sdk';
import { usePostgresInstances } from './support/postgres';
import { ok } from './support/server';
import { addDevice, addSite } from './support/world';

const [t, second] = usePostgresInstances();

/** Moves both instances' clocks by `ms` at once (their tickers race), then waits for both passes. */
async function tickBoth(ms: number): Promise<void> {
  await Promise.all([t.clock.advance(ms), second.clock.advance(ms)]);
  await Promise.all([t.server.runSchedules(), second.server.runSchedules()]);
}

describe('two instances on one PostgreSQL database', () => {
  it('start each run of each schedule once', async () => {
    const deviceId = (await addDevice(t, (await addSite(t)).id)).id;
    const schedules = [];
    for (let i = 0; i < 20; i++)
      schedules.push(
        ok(
          await createSchedule({
            client: t.admin,
            body: {
              name: `Every minute ${i}`,
              trigger: { kind: 'interval', interval_seconds: 60 },
              job: { command: { type: 'ping' }, target: { device_ids: [deviceId] } },
            },
          }),
        ),
      );
    for (const runs of [1, 2, 3]) {
      await tickBoth(60_000);
      const jobs = await t.server.context.db
        .selectFrom('jobs')
        .select('schedule_id')
        .select((eb) => eb.fn.countAll().as('n'))
        .where(
          'schedule_id',
          'in',
          schedules.map((schedule) => schedule.id),
        )
        .groupBy('schedule_id')
        .execute();
      expect(jobs).toHaveLength(schedules.length);
      expect(jobs.every((row) => Number(row.n) === runs)).toBe(true);
    }
  });
});

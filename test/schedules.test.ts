/**
 * Schedules on the test clock: cron runs across the daylight-saving changes of Europe/Berlin and
 * America/New_York, intervals, once, run-now, the missed-run policy (a late tick, and a server
 * restarted after its runs fell due), scoping to the caller's sites, and the 4xx of each
 * operation. The schedule ticker runs on the clock's timers; a test that moves the clock then
 * waits for the pass under way with `runSchedules()` (which runs one more pass at the same time).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDeviceFilter,
  createSchedule,
  deleteDeviceFilter,
  getDeviceFilterUsage,
  deleteDevice,
  deleteSchedule,
  getJob,
  getSchedule,
  listSchedules,
  listScheduleRuns,
  runScheduleNow,
  updateSchedule,
  type Client,
  type Schedule,
  type ScheduleCreate,
} from '@meridian/sdk';
import { expectProblem } from './support/problem';
import { MISSED_AFTER_MS } from '../server-stub/src/operations/schedules-store';
import { ok, startTestServer, TestClock, type TestServer } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addDevice, addMember, addSite } from './support/world';

const HOUR = 60 * 60 * 1000;
const MISSING_SCHEDULE = 'sch_01JDA3C5E7G9J1K3M5P7R9T1V3';

/** A ping on `deviceIds`: what every schedule here runs. */
const pingOn = (deviceIds: string[]): ScheduleCreate['job'] => ({
  name: 'Ping',
  command: { type: 'ping' },
  target: { device_ids: deviceIds },
});

async function addSchedule(client: Client, body: Partial<ScheduleCreate> & Pick<ScheduleCreate, 'job'>) {
  return ok(
    await createSchedule({
      client,
      body: { name: 'Nightly', trigger: { kind: 'cron', cron: '0 2 * * *', time_zone: 'UTC' }, ...body },
    }),
  );
}

/** The time `hours` after the schedule was created (an interval schedule's anchor). */
const hoursAfter = (schedule: Schedule, hours: number) =>
  new Date(Date.parse(schedule.created_at) + hours * HOUR).toISOString();

const runsOf = async (t: TestServer, id: string) =>
  ok(await listScheduleRuns({ client: t.admin, path: { schedule_id: id }, query: { limit: 100 } })).data;

/** Moves the clock to `iso` (forward) and waits for the ticker's pass at that time. */
async function moveTo(t: TestServer, iso: string): Promise<void> {
  const ms = Date.parse(iso) - t.clock.now().getTime();
  expect(ms, `the clock is already past ${iso}`).toBeGreaterThanOrEqual(0);
  await t.travel(ms);
  await t.server.runSchedules();
}

describe.each([
  {
    zone: 'Europe/Berlin',
    // Clocks go forward at 02:00 on 28 March 2027 (02:00 does not exist) and back at 03:00 on
    // 31 October 2027 (02:00 happens twice: 00:00Z in summer time, 01:00Z in winter time).
    spring: ['2027-03-27T01:00:00.000Z', '2027-03-28T01:00:00.000Z', '2027-03-29T00:00:00.000Z'],
    fall: ['2027-10-30T00:00:00.000Z', '2027-10-31T00:00:00.000Z', '2027-11-01T01:00:00.000Z'],
    repeated: '2027-10-31T01:00:00.000Z',
  },
  {
    zone: 'America/New_York',
    // Forward at 02:00 on 14 March 2027 (02:00 does not exist); back at 02:00 on 7 November 2027,
    // when 01:00–02:00 happens twice and 02:00 once (winter time).
    spring: ['2027-03-13T07:00:00.000Z', '2027-03-14T07:00:00.000Z', '2027-03-15T06:00:00.000Z'],
    fall: ['2027-11-06T06:00:00.000Z', '2027-11-07T07:00:00.000Z', '2027-11-08T07:00:00.000Z'],
    repeated: null,
  },
])('a daily 02:00 cron schedule in $zone', ({ zone, spring, fall, repeated }) => {
  const t = useTestServer();
  let deviceId: string;
  beforeAll(async () => {
    deviceId = (await addDevice(t, (await addSite(t)).id)).id;
  });

  /** Creates the schedule 12 hours before `runs[0]` and follows it through the three runs. */
  async function follow(runs: string[], between: string | null) {
    await moveTo(t, new Date(Date.parse(runs[0]!) - 12 * HOUR).toISOString());
    const schedule = await addSchedule(t.admin, {
      trigger: { kind: 'cron', cron: '0 2 * * *', time_zone: zone },
      job: pingOn([deviceId]),
    });
    expect(schedule.next_run_at).toBe(runs[0]);
    for (const [index, run] of runs.entries()) {
      await moveTo(t, run);
      const now = ok(await getSchedule({ client: t.admin, path: { schedule_id: schedule.id } }));
      expect(now.last_run).toMatchObject({ cause: 'scheduled', scheduled_for: run });
      expect(Date.parse(now.last_run!.started_at) - Date.parse(run)).toBeLessThan(MISSED_AFTER_MS);
      expect(await runsOf(t, schedule.id)).toHaveLength(index + 1);
      if (index === 1 && between) {
        // The second 02:00 of the day clocks go back starts nothing.
        expect(now.next_run_at).toBe(runs[2]);
        await moveTo(t, between);
        expect(await runsOf(t, schedule.id)).toHaveLength(2);
      }
    }
    const jobs = await runsOf(t, schedule.id);
    expect(jobs.map((job) => job.id)).toHaveLength(3);
    expect(jobs.every((job) => job.schedule_id === schedule.id && job.counts.total === 1)).toBe(true);
    ok(await deleteSchedule({ client: t.admin, path: { schedule_id: schedule.id } }));
  }

  it('runs once on the day clocks go forward, at the first minute after the gap', () => follow(spring, null));
  it('runs once on the day clocks go back', () => follow(fall, repeated));
});

describe('schedules', () => {
  const t = useTestServer();
  let siteA: string;
  let deviceA: string;
  let deviceB: string;
  beforeAll(async () => {
    siteA = (await addSite(t)).id;
    deviceA = (await addDevice(t, siteA)).id;
    deviceB = (await addDevice(t, (await addSite(t)).id)).id;
  });

  it('are created, read, listed, updated with If-Match and deleted', async () => {
    const created = await createSchedule({
      client: t.admin,
      body: {
        name: 'Weekly restart',
        description: 'Sundays at 02:00 in Lisbon',
        trigger: { kind: 'cron', cron: '0 2 * * 0', time_zone: 'Europe/Lisbon' },
        missed_runs: 'run_once',
        job: pingOn([deviceA]),
      },
    });
    const schedule = ok(created);
    expect(created.response.headers.get('etag')).toBe('"1"');
    expect(schedule).toMatchObject({
      enabled: true,
      trigger: { kind: 'cron', cron: '0 2 * * 0', time_zone: 'Europe/Lisbon', interval_seconds: null },
      missed_runs: 'run_once',
      site_ids: [siteA],
      last_run: null,
      last_error: null,
    });
    const next = new Date(schedule.next_run_at!);
    expect(next.getTime()).toBeGreaterThan(t.clock.now().getTime());
    expect(next.getTime() - t.clock.now().getTime()).toBeLessThanOrEqual(7 * 24 * HOUR);
    expect(
      new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/Lisbon',
        weekday: 'short',
        hour: '2-digit',
        minute: '2-digit',
      }).format(next),
    ).toBe('Sun 02:00');

    expect(ok(await getSchedule({ client: t.admin, path: { schedule_id: schedule.id } }))).toEqual(schedule);
    const enabled = ok(await listSchedules({ client: t.admin, query: { enabled: true, limit: 500 } })).data;
    expect(enabled.map((s) => s.id)).toContain(schedule.id);
    const disabled = ok(await listSchedules({ client: t.admin, query: { enabled: false, limit: 500 } })).data;
    expect(disabled.map((s) => s.id)).not.toContain(schedule.id);

    const paused = await updateSchedule({
      client: t.admin,
      path: { schedule_id: schedule.id },
      headers: { 'If-Match': '"1"' },
      body: { enabled: false },
    });
    expect(paused.response.headers.get('etag')).toBe('"2"');
    expect(ok(paused)).toMatchObject({ enabled: false, next_run_at: null });
    expectProblem(
      await updateSchedule({
        client: t.admin,
        path: { schedule_id: schedule.id },
        headers: { 'If-Match': '"1"' },
        body: { name: 'Stale' },
      }),
      412,
      'precondition_failed',
    );
    const resumed = ok(
      await updateSchedule({ client: t.admin, path: { schedule_id: schedule.id }, body: { enabled: true } }),
    );
    expect(resumed.next_run_at).toBe(schedule.next_run_at);

    expect(
      (await deleteSchedule({ client: t.admin, path: { schedule_id: schedule.id } })).response.status,
    ).toBe(204);
    expectProblem(
      await getSchedule({ client: t.admin, path: { schedule_id: schedule.id } }),
      404,
      'not_found',
    );
  });

  it('run at every interval, counted from when the trigger was set', async () => {
    const schedule = await addSchedule(t.admin, {
      trigger: { kind: 'interval', interval_seconds: 600 },
      job: pingOn([deviceA]),
    });
    const start = Date.parse(schedule.created_at);
    expect(schedule.trigger).toMatchObject({ kind: 'interval', interval_seconds: 600, cron: null });
    expect(Date.parse(schedule.next_run_at!)).toBe(start + 600_000);
    await moveTo(t, schedule.next_run_at!);
    await moveTo(t, new Date(start + 1_200_000).toISOString());
    const after = ok(await getSchedule({ client: t.admin, path: { schedule_id: schedule.id } }));
    expect(after.last_run).toMatchObject({ scheduled_for: new Date(start + 1_200_000).toISOString() });
    expect(Date.parse(after.next_run_at!)).toBe(start + 1_800_000);
    expect(await runsOf(t, schedule.id)).toHaveLength(2);
    await deleteSchedule({ client: t.admin, path: { schedule_id: schedule.id } });
  });

  it('run once at the given time, and then no more', async () => {
    const runAt = new Date(t.clock.now().getTime() + 90_000).toISOString();
    const schedule = await addSchedule(t.admin, {
      trigger: { kind: 'once', run_at: runAt },
      job: pingOn([deviceA]),
    });
    expect(schedule.next_run_at).toBe(runAt);
    await moveTo(t, runAt);
    const after = ok(await getSchedule({ client: t.admin, path: { schedule_id: schedule.id } }));
    expect(after).toMatchObject({
      next_run_at: null,
      last_run: { scheduled_for: runAt, cause: 'scheduled' },
    });
    await t.travel(2 * 24 * HOUR);
    await t.server.runSchedules();
    expect(await runsOf(t, schedule.id)).toHaveLength(1);
  });

  it('tick on their own on the server timers', async () => {
    const schedule = await addSchedule(t.admin, {
      trigger: { kind: 'interval', interval_seconds: 60 },
      job: pingOn([deviceA]),
    });
    await t.clock.advance(60_000);
    await expect.poll(async () => (await runsOf(t, schedule.id)).length).toBe(1);
    await deleteSchedule({ client: t.admin, path: { schedule_id: schedule.id } });
  });

  it('skip a run found late, or run it once, as their missed-run policy says', async () => {
    const hourly = (missed_runs: 'skip' | 'run_once') =>
      addSchedule(t.admin, {
        trigger: { kind: 'interval', interval_seconds: 3600 },
        missed_runs,
        job: pingOn([deviceA]),
      });
    const skip = await hourly('skip');
    const catchUp = await hourly('run_once');
    // Three runs fall due while the ticker does not run; it then finds the first 2 h late.
    await t.travel(3 * HOUR + 30 * 60_000);
    await t.server.runSchedules();
    expect(await runsOf(t, skip.id)).toHaveLength(0);
    expect(ok(await getSchedule({ client: t.admin, path: { schedule_id: skip.id } }))).toMatchObject({
      last_run: null,
      last_skipped_at: hoursAfter(skip, 1),
      next_run_at: hoursAfter(skip, 4),
    });
    expect(await runsOf(t, catchUp.id)).toHaveLength(1);
    expect(ok(await getSchedule({ client: t.admin, path: { schedule_id: catchUp.id } }))).toMatchObject({
      last_run: { cause: 'missed', scheduled_for: hoursAfter(catchUp, 1) },
      next_run_at: hoursAfter(catchUp, 4),
    });
    for (const { id } of [skip, catchUp])
      await deleteSchedule({ client: t.admin, path: { schedule_id: id } });
  });

  it('run now on demand, even disabled, without moving the next run', async () => {
    const schedule = await addSchedule(t.admin, { enabled: false, job: pingOn([deviceA]) });
    expect(schedule.next_run_at).toBeNull();
    const started = await runScheduleNow({ client: t.admin, path: { schedule_id: schedule.id } });
    expect(started.response.status).toBe(202);
    const job = ok(started);
    expect(job).toMatchObject({ schedule_id: schedule.id, state: 'running', command_type: 'ping' });
    expect(job.counts).toMatchObject({ total: 1, pending: 1 });
    expect(ok(await getJob({ client: t.admin, path: { job_id: job.id } })).schedule_id).toBe(schedule.id);
    const after = ok(await getSchedule({ client: t.admin, path: { schedule_id: schedule.id } }));
    expect(after).toMatchObject({
      next_run_at: null,
      last_run: { job_id: job.id, cause: 'run_now', scheduled_for: null },
    });
    expect((await runsOf(t, schedule.id)).map((run) => run.id)).toEqual([job.id]);
  });

  it('target a saved device filter, resolved at each run, and show in its usage', async () => {
    const filter = ok(
      await createDeviceFilter({
        client: t.admin,
        body: { name: `Site ${siteA}`, expression: { field: 'site_id', op: 'eq', value: siteA } },
      }),
    );
    const schedule = await addSchedule(t.admin, {
      enabled: false,
      job: { command: { type: 'ping' }, target: { filter_id: filter.id } },
    });
    expect(schedule.job.target).toEqual({ filter_id: filter.id });
    const before = ok(await runScheduleNow({ client: t.admin, path: { schedule_id: schedule.id } }));
    const added = await addDevice(t, siteA);
    const after = ok(await runScheduleNow({ client: t.admin, path: { schedule_id: schedule.id } }));
    expect(after.counts.total).toBe(before.counts.total + 1);
    expect(ok(await getDeviceFilterUsage({ client: t.admin, path: { filter_id: filter.id } })).data).toEqual(
      expect.arrayContaining([{ kind: 'schedule', id: schedule.id, name: schedule.name }]),
    );
    expectProblem(
      await deleteDeviceFilter({ client: t.admin, path: { filter_id: filter.id } }),
      409,
      'device_filter_in_use',
    );
    ok(await deleteDevice({ client: t.admin, path: { device_id: added.id } }));
  });

  it('record why a run could not start, and carry on', async () => {
    const doomed = await addDevice(t, siteA);
    const schedule = await addSchedule(t.admin, {
      trigger: { kind: 'interval', interval_seconds: 60 },
      job: pingOn([doomed.id]),
    });
    ok(await deleteDevice({ client: t.admin, path: { device_id: doomed.id } }));
    await moveTo(t, schedule.next_run_at!);
    const after = ok(await getSchedule({ client: t.admin, path: { schedule_id: schedule.id } }));
    expect(after.last_error).toMatch(/No device .* exists/);
    expect(Date.parse(after.next_run_at!)).toBe(Date.parse(schedule.next_run_at!) + 60_000);
    expect(await runsOf(t, schedule.id)).toHaveLength(0);
    expectProblem(
      await runScheduleNow({ client: t.admin, path: { schedule_id: schedule.id } }),
      422,
      'unknown_device',
    );
  });

  it("are scoped to the caller's sites", async () => {
    const operator = await addMember(t, 'operator', [siteA]);
    const mine = await addSchedule(operator.client, { job: pingOn([deviceA]) });
    expect(mine).toMatchObject({ site_ids: [siteA], created_by: operator.user.id });
    const theirs = await addSchedule(t.admin, { job: pingOn([deviceB]) });
    const seen = ok(await listSchedules({ client: operator.client, query: { limit: 500 } })).data.map(
      (s) => s.id,
    );
    expect(seen).toContain(mine.id);
    expect(seen).not.toContain(theirs.id);
    for (const call of [
      getSchedule({ client: operator.client, path: { schedule_id: theirs.id } }),
      runScheduleNow({ client: operator.client, path: { schedule_id: theirs.id } }),
      listScheduleRuns({ client: operator.client, path: { schedule_id: theirs.id } }),
      deleteSchedule({ client: operator.client, path: { schedule_id: theirs.id } }),
      updateSchedule({ client: operator.client, path: { schedule_id: theirs.id }, body: { enabled: false } }),
    ])
      expectProblem(await call, 404, 'not_found');
    expectProblem(
      await createSchedule({
        client: operator.client,
        body: {
          name: 'Not mine',
          trigger: { kind: 'once', run_at: '2099-01-01T00:00:00Z' },
          job: pingOn([deviceB]),
        },
      }),
      422,
      'unknown_device',
    );
    expectProblem(
      await updateSchedule({
        client: operator.client,
        path: { schedule_id: mine.id },
        body: { job: pingOn([deviceB]) },
      }),
      422,
      'unknown_device',
    );
  });

  describe('refuse a trigger that cannot be used', () => {
    const refuse = async (trigger: unknown, path: string, status = 422) => {
      const result = await createSchedule({
        client: t.admin,
        body: { name: 'Bad', trigger: trigger as ScheduleCreate['trigger'], job: pingOn([deviceA]) },
      });
      const problem = expectProblem(
        result,
        status,
        status === 422 ? 'schedule_trigger_invalid' : 'validation_failed',
      );
      expect(problem.errors?.map((issue) => issue.path)).toContain(path);
    };
    it('a cron expression that does not parse', () =>
      refuse({ kind: 'cron', cron: '61 2 * * *' }, '/body/trigger/cron'));
    it('a cron expression with seconds', () =>
      refuse({ kind: 'cron', cron: '0 0 2 * * *' }, '/body/trigger/cron'));
    it('a cron expression that never fires', () =>
      refuse({ kind: 'cron', cron: '0 0 31 2 *' }, '/body/trigger/cron'));
    it('an unknown time zone', () =>
      refuse({ kind: 'cron', cron: '0 2 * * *', time_zone: 'Europe/Atlantis' }, '/body/trigger/time_zone'));
    it('an interval under a minute', () =>
      refuse({ kind: 'interval', interval_seconds: 59 }, '/body/trigger/interval_seconds', 400));
    it('an interval over a year', () =>
      refuse({ kind: 'interval', interval_seconds: 31_536_001 }, '/body/trigger/interval_seconds', 400));
    it('a once trigger in the past', () =>
      refuse({ kind: 'once', run_at: '2020-01-01T00:00:00Z' }, '/body/trigger/run_at'));
    it("a field of another kind's trigger", () =>
      refuse({ kind: 'interval', interval_seconds: 600, cron: '0 2 * * *' }, '/body/trigger/cron'));
    it("a trigger without its kind's field", () => refuse({ kind: 'cron' }, '/body/trigger/cron'));
    it('on update too, changing nothing', async () => {
      const schedule = await addSchedule(t.admin, { job: pingOn([deviceA]) });
      const problem = expectProblem(
        await updateSchedule({
          client: t.admin,
          path: { schedule_id: schedule.id },
          body: { trigger: { kind: 'cron', cron: '0 2 * * *', time_zone: 'Mars/Olympus_Mons' } },
        }),
        422,
        'schedule_trigger_invalid',
      );
      expect(problem.errors?.[0]?.path).toBe('/body/trigger/time_zone');
      expect(ok(await getSchedule({ client: t.admin, path: { schedule_id: schedule.id } }))).toEqual(
        schedule,
      );
    });
  });

  it('refuse a job that could not run, naming the field under /body/job', async () => {
    const problem = expectProblem(
      await createSchedule({
        client: t.admin,
        body: {
          name: 'Bad params',
          trigger: { kind: 'interval', interval_seconds: 600 },
          job: { command: { type: 'echo', params: { text: 42 } }, target: { device_ids: [deviceA] } },
        },
      }),
      422,
      'invalid_command_params',
    );
    expect(problem.errors?.[0]?.path).toMatch(/^\/body\/job\/command\/params/);
    expectProblem(
      await createSchedule({
        client: t.admin,
        body: {
          name: 'Nobody',
          trigger: { kind: 'interval', interval_seconds: 600 },
          job: pingOn(['dev_01JD2M7T4X9K3QH5W8N6R2B4CZ']),
        },
      }),
      422,
      'unknown_device',
    );
  });

  it('are 404 when they do not exist', async () => {
    for (const call of [
      getSchedule({ client: t.admin, path: { schedule_id: MISSING_SCHEDULE } }),
      updateSchedule({ client: t.admin, path: { schedule_id: MISSING_SCHEDULE }, body: { enabled: false } }),
      deleteSchedule({ client: t.admin, path: { schedule_id: MISSING_SCHEDULE } }),
      runScheduleNow({ client: t.admin, path: { schedule_id: MISSING_SCHEDULE } }),
      listScheduleRuns({ client: t.admin, path: { schedule_id: MISSING_SCHEDULE } }),
    ])
      expectProblem(await call, 404, 'not_found');
  });
});

describe('missed runs after a restart', () => {
  const clock = new TestClock();
  const dir = mkdtempSync(join(tmpdir(), 'meridian-schedules-'));
  const database = join(dir, 'meridian.sqlite');
  const start = (): Promise<TestServer> =>
    startTestServer({ database, now: clock.now, timers: clock.timers });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('are skipped, or run once, when a server is back', async () => {
    const before = await start();
    const deviceId = (await addDevice(before, (await addSite(before)).id)).id;
    const hourly = (missed_runs: 'skip' | 'run_once') =>
      addSchedule(before.admin, {
        name: missed_runs,
        trigger: { kind: 'interval', interval_seconds: 3600 },
        missed_runs,
        job: pingOn([deviceId]),
      });
    const skip = await hourly('skip');
    const catchUp = await hourly('run_once');
    await before.close();

    // Five hourly runs fall due while no server runs.
    await clock.advance(5 * HOUR + 20 * 60_000);
    const after = await start();
    try {
      await clock.advance(1000);
      await after.server.runSchedules();
      const skipped = ok(await getSchedule({ client: after.admin, path: { schedule_id: skip.id } }));
      expect(skipped).toMatchObject({
        last_run: null,
        last_skipped_at: hoursAfter(skip, 1),
        next_run_at: hoursAfter(skip, 6),
      });
      expect(await runsOf(after, skip.id)).toHaveLength(0);
      const caughtUp = ok(await getSchedule({ client: after.admin, path: { schedule_id: catchUp.id } }));
      expect(caughtUp).toMatchObject({
        last_run: { cause: 'missed', scheduled_for: hoursAfter(catchUp, 1) },
        next_run_at: hoursAfter(catchUp, 6),
      });
      expect(await runsOf(after, catchUp.id)).toHaveLength(1);
      // Back on time (catchUp was created last, so both are due): the next runs are ordinary ones.
      await clock.advance(Date.parse(hoursAfter(catchUp, 6)) - clock.now().getTime());
      await after.server.runSchedules();
      for (const schedule of [skip, catchUp])
        expect(
          ok(await getSchedule({ client: after.admin, path: { schedule_id: schedule.id } })).last_run,
        ).toMatchObject({ cause: 'scheduled', scheduled_for: hoursAfter(schedule, 6) });
    } finally {
      await after.close();
    }
  });
});

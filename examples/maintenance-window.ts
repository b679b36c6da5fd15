/**
 * A weekly maintenance window: makes sure the script library has a "Weekly maintenance" shell
 * script (--script gives its body when it is created), that a saved device filter selects the
 * site's Linux and macOS machines, and that a schedule runs the script on the devices the filter
 * selects each Sunday at 02:00 in the site's time zone (the one its agents report most, unless
 * --time-zone says otherwise), then prints when it runs next and what its last run did on each
 * device. Run it again after a window to read the results.
 *
 *   MERIDIAN_TOKEN=mtk_… npx tsx examples/maintenance-window.ts site_01JD… \
 *     [--time-zone=Europe/Berlin] [--script='apt-get -y autoremove && journalctl --vacuum-time=14d']
 */
import type { Schedule, ScheduleCreate } from '@meridian/sdk';
import { connect, orExit } from './lib/connect';

const [siteId, ...options] = process.argv.slice(2);
const settings: { 'time-zone'?: string; script: string } = {
  script: 'df -h / && journalctl --vacuum-time=14d',
};
for (const arg of options) {
  const [, key, value] = /^--(time-zone|script)=(.+)$/s.exec(arg) ?? [];
  if (!key || !value) {
    console.error(`unknown argument ${arg}; use --time-zone=Area/City or --script=…`);
    process.exit(2);
  }
  settings[key as keyof typeof settings] = value;
}
if (!siteId) {
  console.error('usage: maintenance-window.ts <site_id> [--time-zone=Area/City] [--script=…]');
  process.exit(2);
}

const meridian = await connect();
const site = await orExit(meridian.sites.get(siteId), 'Reading the site');
const name = `Maintenance window: ${site.name}`;

/** The time zone most of the site's agents report (UTC if none does). */
async function siteTimeZone(): Promise<string> {
  const zones = new Map<string, number>();
  for await (const device of meridian.devices.list({ site_id: siteId, limit: 500 }))
    if (device.timezone) zones.set(device.timezone, (zones.get(device.timezone) ?? 0) + 1);
  return [...zones].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'UTC';
}

/** The library's maintenance script, created the first time (creating scripts needs an admin). */
async function maintenanceScript(): Promise<string> {
  for await (const script of meridian.scripts.list({ limit: 500 }))
    if (script.name === 'Weekly maintenance') return script.id;
  const created = await orExit(
    meridian.scripts.create({
      name: 'Weekly maintenance',
      description: 'Frees disk space: old journal entries.',
      language: 'sh',
      body: `#!/bin/sh\nset -e\n${settings.script}\n`,
      timeout_seconds: 3600,
    }),
    'Creating the script',
  );
  console.log(`created script ${created.name} (${created.id})`);
  return created.id;
}

/** The saved filter of the site's machines that run sh, created the first time. */
async function maintenanceFilter(): Promise<string> {
  const filterName = `Maintained machines of ${site.name}`;
  for await (const filter of meridian.deviceFilters.list({ limit: 500 }))
    if (filter.name === filterName) return filter.id;
  const created = await orExit(
    meridian.deviceFilters.create({
      name: filterName,
      expression: {
        and: [
          { field: 'site_id', op: 'eq', value: siteId },
          { field: 'platform', op: 'in', value: ['linux', 'macos'] },
        ],
      },
    }),
    'Creating the device filter',
  );
  console.log(`created filter ${created.name} (${created.id})`);
  return created.id;
}

let schedule: Schedule | undefined;
for await (const existing of meridian.schedules.list({ limit: 500 }))
  if (existing.name === name) schedule = existing;
if (!schedule) {
  const body: ScheduleCreate = {
    name,
    description: `Runs every Sunday at 02:00 on the Linux and macOS machines of ${site.name}.`,
    trigger: { kind: 'cron', cron: '0 2 * * 0', time_zone: settings['time-zone'] ?? (await siteTimeZone()) },
    // A window missed while Meridian was down is not worth running during the working week.
    missed_runs: 'skip',
    job: {
      name: `Maintenance of ${site.name}`,
      script: { script_id: await maintenanceScript() },
      // Resolved at each run: machines added to the site later are maintained too.
      target: { filter_id: await maintenanceFilter() },
    },
  };
  schedule = await orExit(meridian.schedules.create(body), 'Creating the schedule');
  console.log(`created ${schedule.name} (${schedule.id})`);
}

const zone = schedule.trigger.time_zone ?? 'UTC';
const local = (iso: string) =>
  new Intl.DateTimeFormat('en-GB', { timeZone: zone, dateStyle: 'full', timeStyle: 'short' }).format(
    new Date(iso),
  );
console.log(
  schedule.next_run_at
    ? `next run: ${local(schedule.next_run_at)} (${zone}), ${schedule.next_run_at}`
    : 'no next run (the schedule is disabled)',
);

const last = schedule.last_run;
if (!last) {
  console.log(schedule.last_error ? `the last run could not start: ${schedule.last_error}` : 'no run yet');
  process.exit(0);
}
const job = await orExit(meridian.jobs.get(last.job_id), 'Reading the last run');
const { counts } = job;
console.log(
  `last run: ${local(last.started_at)} (${last.cause}), job ${job.id} ${job.state}: ` +
    `${counts.succeeded} succeeded, ${counts.failed} failed, ` +
    `${counts.pending + counts.delivered + counts.running} not finished, of ${counts.total}`,
);
for await (const target of meridian.jobs.listTargets(job.id, { limit: 500 })) {
  const output = (target.state === 'succeeded' ? target.stdout : target.stderr || target.error || '').trim();
  const exit = target.exit_code === null ? '' : ` (exit ${target.exit_code})`;
  console.log(`  ${target.device_name}: ${target.state}${exit}${output ? ` ${output.split('\n')[0]}` : ''}`);
}

/**
 * Alerting: creates a `device_offline` rule for one site, then follows its incidents on the event
 * stream (Server-Sent Events), printing each incident.opened / incident.acknowledged /
 * incident.resolved as it happens. Stops after --count incident events, or on Ctrl-C.
 *
 *   MERIDIAN_TOKEN=mtk_… npx tsx examples/alerting.ts site_01JD… --minutes=5 --count=10
 */
import type { AlertRuleCreate } from '@meridian/sdk';
import { connect, orExit } from './lib/connect';

const [siteId, ...options] = process.argv.slice(2);
const settings = { minutes: 5, count: Infinity };
for (const arg of options) {
  const [, key, value] = /^--(minutes|count)=(\d+)$/.exec(arg) ?? [];
  if (!key || !value) {
    console.error(`unknown argument ${arg}; use --minutes=N or --count=N`);
    process.exit(2);
  }
  settings[key as keyof typeof settings] = Number(value);
}
if (!siteId) {
  console.error('usage: alerting.ts <site_id> [--minutes=5] [--count=N]');
  process.exit(2);
}

const meridian = await connect();
const rule: AlertRuleCreate = {
  kind: 'device_offline',
  name: `Offline for ${settings.minutes} min`,
  duration_minutes: settings.minutes,
  severity: 'critical',
  scope: { site_ids: [siteId] },
};
const created = await orExit(meridian.alertRules.create(rule), 'Creating the rule');
console.log(`rule ${created.name} (${created.id}) watches ${siteId}; following incidents`);

// The stream reconnects by itself (with Last-Event-ID, so nothing is missed); Ctrl-C ends it.
const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
let seen = 0;
for await (const { data: event } of meridian.events.stream({ site_id: siteId }, { signal: stop.signal })) {
  if (!event.type.startsWith('incident.') || event.data.rule_id !== created.id) continue;
  const reopened = event.data.reopened === true ? ' (reopened)' : '';
  console.log(`${event.created_at} ${event.type}${reopened} ${event.data.incident_id} ${event.message}`);
  if (++seen >= settings.count) break;
}

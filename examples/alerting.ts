/**
 * Alerting: creates a notification channel that delivers through one of your webhook endpoints
 * (sending it a test notification), and a `device_offline` rule for one site that notifies the
 * channel; then follows the rule's incidents on the event stream (Server-Sent Events), printing
 * each incident.opened / incident.acknowledged / incident.resolved as it happens, while the
 * channel's endpoint receives them as signed webhooks. Stops after --count incident events, or on
 * Ctrl-C.
 *
 *   MERIDIAN_TOKEN=mtk_… npx tsx examples/alerting.ts site_01JD… whk_01JD… --minutes=5 --count=10
 *
 * (Create the endpoint with `POST /v1/webhooks`; examples/webhook-receiver.ts can receive there.)
 */
import type { AlertRuleCreate } from '@meridian/sdk';
import { connect, orExit } from './lib/connect';

const [siteId, webhookId, ...options] = process.argv.slice(2);
const settings = { minutes: 5, count: Infinity };
for (const arg of options) {
  const [, key, value] = /^--(minutes|count)=(\d+)$/.exec(arg) ?? [];
  if (!key || !value) {
    console.error(`unknown argument ${arg}; use --minutes=N or --count=N`);
    process.exit(2);
  }
  settings[key as keyof typeof settings] = Number(value);
}
if (!siteId || !webhookId) {
  console.error('usage: alerting.ts <site_id> <webhook_id> [--minutes=5] [--count=N]');
  process.exit(2);
}

const meridian = await connect();
const channel = await orExit(
  meridian.notificationChannels.create({
    name: `Incidents of ${siteId}`,
    kind: 'webhook',
    webhook: { webhook_id: webhookId },
  }),
  'Creating the channel',
);
const test = await orExit(meridian.notificationChannels.test(channel.id), 'Testing the channel');
console.log(
  `channel ${channel.name} (${channel.id}) delivers to ${webhookId}; test ${
    test.delivered ? `delivered in ${test.latency_ms} ms` : `not delivered: ${test.error}`
  }`,
);
const rule: AlertRuleCreate = {
  kind: 'device_offline',
  name: `Offline for ${settings.minutes} min`,
  duration_minutes: settings.minutes,
  severity: 'critical',
  scope: { site_ids: [siteId] },
  channel_ids: [channel.id],
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

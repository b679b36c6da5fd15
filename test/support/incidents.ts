/** Incidents for the notification tests: a rule that notifies channels, and an incident of it. */
import { expect } from 'vitest';
import { createAlertRule, listIncidents, sendAgentEvent } from '@meridian/sdk';
import { addAgent } from './agents';
import { ok, type TestServer } from './server';
import { addSite, unique } from './world';

/**
 * An agent on a site (a new one unless `siteId` is given), an event_match rule on its process
 * crashes notifying `channelIds`, and a crash: after the sweep, the rule's open incident.
 */
export async function openIncident(t: TestServer, channelIds: string[], siteId?: string) {
  const site = siteId ?? (await addSite(t)).id;
  const agent = await addAgent(t, site);
  const rule = ok(
    await createAlertRule({
      client: t.admin,
      body: {
        name: unique('Kiosk crashes'),
        kind: 'event_match',
        event_type: 'agent.process_crash',
        scope: { site_ids: [site] },
        channel_ids: channelIds,
      },
    }),
  );
  expect(rule.channel_ids).toEqual(channelIds);
  ok(
    await sendAgentEvent({
      client: agent.client,
      body: { type: 'process_crash', severity: 'error', message: 'Kiosk browser exited' },
    }),
  );
  await t.server.sweep();
  const incident = ok(await listIncidents({ client: t.admin, query: { rule_id: rule.id } })).data[0]!;
  return { rule, incident };
}

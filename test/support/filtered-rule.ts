/**
 * A fleet for alert rules scoped by a saved device filter: two agents on a new site that both
 * reported an "overheated" event, only one of them carrying the tag the filter matches, and an
 * event_match rule body scoped by that filter.
 */
import { createDeviceFilter, sendAgentEvent, updateDevice } from '@meridian/sdk';
import { addAgent, type Agent } from './agents';
import { ok, type TestServer } from './server';
import { addSite, unique } from './world';

export async function filteredRuleFleet(t: TestServer) {
  const siteId = (await addSite(t)).id;
  const [tagged, other] = [await addAgent(t, siteId), await addAgent(t, siteId)];
  const tag = unique('watched')
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-');
  const setTags = async (agent: Agent, tags: string[]) =>
    ok(await updateDevice({ client: t.admin, path: { device_id: agent.deviceId }, body: { tags } }));
  await setTags(tagged, [tag]);
  const filter = ok(
    await createDeviceFilter({
      client: t.admin,
      body: { name: unique('Watched'), expression: { field: 'tags', op: 'has', value: tag } },
    }),
  );
  for (const agent of [tagged, other])
    ok(
      await sendAgentEvent({
        client: agent.client,
        body: { type: 'process_crash', severity: 'error', message: 'Renderer overheated' },
      }),
    );
  const body = {
    name: unique('Overheating'),
    kind: 'event_match',
    event_text: 'overheated',
    duration_minutes: 10,
    scope: { filter_id: filter.id },
  } as const;
  /** Gives `agent` the filter's tag (`true`) or no tags. */
  const match = (agent: Agent, matching: boolean) => setTags(agent, matching ? [tag] : []);
  return { siteId, tagged, other, filter, body, match };
}

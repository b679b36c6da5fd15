/**
 * Alert evaluation with several instances: two servers on one PostgreSQL database evaluate the
 * same rules side by side, again and again, and each incident opens once and resolves once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertRule, listEvents, sendAgentEvent } from '@meridian/sdk';
import { addAgent } from './support/agents';
import { startPostgres, type Postgres } from './support/postgres';
import { ok, startTestServer, type TestServer } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addSite } from './support/world';

let pg: Postgres;
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(() => pg.stop());
const t = useTestServer(() => ({ database: pg.url }));
let second: TestServer;
beforeAll(async () => {
  second = await startTestServer({ database: pg.url });
});
afterAll(() => second.close());

const sweepBoth = () => Promise.all([t.server.sweep(), second.server.sweep(), t.server.sweep()]);

describe('two instances on one PostgreSQL database', () => {
  it('open each incident once and resolve it once', async () => {
    const siteId = (await addSite(t)).id;
    const agents = [await addAgent(t, siteId), await addAgent(t, siteId), await addAgent(t, siteId)];
    for (const name of ['Crashes', 'Crashes too'])
      ok(
        await createAlertRule({
          client: t.admin,
          body: {
            name,
            kind: 'event_match',
            event_text: 'exited',
            duration_minutes: 1,
            scope: { site_ids: [siteId] },
          },
        }),
      );
    for (const agent of agents)
      ok(
        await sendAgentEvent({
          client: agent.client,
          body: { type: 'process_crash', severity: 'error', message: 'TouchDesigner exited' },
        }),
      );
    for (let round = 0; round < 3; round++) await sweepBoth();
    const count = async (type: string) =>
      ok(await listEvents({ client: t.admin, query: { site_id: siteId, type, limit: 500 } })).data.length;
    expect(await count('incident.opened')).toBe(agents.length * 2);
    const incidents = await t.server.context.db
      .selectFrom('incidents')
      .select(['rule_id', 'device_id'])
      .where('site_id', '=', siteId)
      .execute();
    expect(new Set(incidents.map((incident) => `${incident.rule_id} ${incident.device_id}`)).size).toBe(6);
    expect(incidents).toHaveLength(6);

    // Both clocks move past the duration: the events no longer count, and each incident resolves once.
    await Promise.all([t.clock.advance(2 * 60_000), second.clock.advance(2 * 60_000)]);
    for (let round = 0; round < 3; round++) await sweepBoth();
    expect(await count('incident.resolved')).toBe(agents.length * 2);
  });
});

/**
 * A fleet from end to end, through the SDK on both sides: an operator creates a site and two
 * codes; 20 agents (MeridianAgent) enrol — 15 approved at once, 5 through the approval queue —
 * heartbeat, receive a command each by long-poll and report its result; the operator sees them
 * online, sees every result, and watches it all happen on the event stream (SSE); the agents
 * stop, and the sweep marks them offline.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Meridian, MeridianAgent, type AgentCredentials, type Event } from '@meridian/sdk';
import { checkedFetch } from './support/checked-fetch';
import { useTestServer } from './support/use-test-server';

const AUTO = 15;
const MANUAL = 5;

const t = useTestServer({
  fleet: { heartbeatIntervalSeconds: 5, enrollmentPollIntervalSeconds: 1, offlineAfterSeconds: 180 },
});
let operator: Meridian;
const stop = new AbortController();
const agents: MeridianAgent[] = [];
const runs: Promise<void>[] = [];
let siteId: string;
/** What the operator's event stream delivered, from before the first agent enrolled. */
const streamed: Event[] = [];
const watching = new AbortController();
let watcher: Promise<void>;

beforeAll(async () => {
  operator = new Meridian({ baseUrl: t.url, token: t.adminToken, fetch: checkedFetch });
  watcher = (async () => {
    for await (const event of operator.events.stream({}, { signal: watching.signal }))
      streamed.push(event.data);
  })();
});
afterAll(async () => {
  stop.abort();
  watching.abort();
  await watcher;
  await Promise.allSettled(runs);
});

describe('a fleet of 20 agents', () => {
  it('enrols: 15 through an auto-approving code, 5 after an operator approves them', async () => {
    const site = await operator.sites.create({ name: 'Lisbon office' });
    siteId = site.id;
    const auto = await operator.enrollmentCodes.create(site.id, {
      label: 'kiosks',
      auto_approve: true,
      max_uses: AUTO,
    });
    const manual = await operator.enrollmentCodes.create(site.id, { label: 'back office', max_uses: MANUAL });
    const saved: AgentCredentials[] = [];
    const enrol = (code: string, n: number) => {
      const agent = new MeridianAgent({
        baseUrl: t.url,
        fetch: checkedFetch,
        logLevel: 'off',
        onCredentials: (c) => void saved.push(c),
      });
      agents.push(agent);
      return agent.enroll({
        code,
        fingerprint: `e2e:machine-${n}`,
        facts: { hostname: `kiosk-${n}`, platform: 'linux', agent_version: '2.4.1' },
      });
    };
    const enrolments = [
      ...Array.from({ length: AUTO }, (_, n) => enrol(auto.code, n)),
      ...Array.from({ length: MANUAL }, (_, n) => enrol(manual.code, AUTO + n)),
    ];
    // The five on the manual code wait in the queue until the operator approves them.
    let pending: { id: string }[] = [];
    for (let tries = 0; pending.length < MANUAL && tries < 100; tries++) {
      pending = (await operator.enrollmentRequests.list({ status: 'pending', site_id: site.id })).data;
      if (pending.length < MANUAL) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(pending).toHaveLength(MANUAL);
    for (const request of pending) await operator.enrollmentRequests.approve(request.id, {});
    const credentials = await Promise.all(enrolments);
    expect(new Set(credentials.map((c) => c.device_id)).size).toBe(AUTO + MANUAL);
    expect(saved).toHaveLength(AUTO + MANUAL);
  });

  it('heartbeats and runs one command each, received by long-poll, with results the operator sees', async () => {
    const heartbeats = new Set<MeridianAgent>();
    for (const agent of agents) {
      runs.push(
        agent.run({
          signal: stop.signal,
          heartbeat: () => ({ status: 'ok', agent_version: '2.4.1', uptime_seconds: 60 }),
          handlers: { echo: async (command) => ({ stdout: `${String(command.params.text)}\n` }) },
          pollWaitSeconds: 30,
          onHeartbeat: () => heartbeats.add(agent),
        }),
      );
    }
    const commands = await Promise.all(
      agents.map((agent, n) =>
        operator.commands.create(
          { device_id: agent.deviceId!, type: 'echo', params: { text: `hello ${n}` }, timeout_seconds: 60 },
          { wait_seconds: 20 },
        ),
      ),
    );
    expect(commands.map((command) => command.status)).toEqual(agents.map(() => 'succeeded'));
    expect(commands.map((command) => command.result?.stdout)).toEqual(agents.map((_, n) => `hello ${n}\n`));

    await vi.waitFor(() => expect(heartbeats.size).toBe(AUTO + MANUAL), { timeout: 10_000 });
    const devices = await operator.devices.list({ site_id: siteId, limit: 100 }).toArray({ limit: 100 });
    expect(devices).toHaveLength(AUTO + MANUAL);
    expect(devices.every((device) => device.status === 'online' && device.last_seen_at !== null)).toBe(true);
    const listed = await operator.commands.list({ status: 'succeeded', limit: 100 }).toArray({ limit: 100 });
    expect(listed.filter((command) => command.site_id === siteId)).toHaveLength(AUTO + MANUAL);
  });

  it('goes offline when the agents stop and the sweep runs, with an event per device', async () => {
    stop.abort();
    await Promise.all(runs);
    await t.travel(181_000);
    await t.server.sweep();
    const devices = await new Meridian({ baseUrl: t.url, token: t.adminToken, fetch: checkedFetch }).devices
      .list({ site_id: siteId, limit: 100 })
      .toArray({ limit: 100 });
    expect(devices.map((device) => device.status)).toEqual(devices.map(() => 'offline'));
    const events = await t.server.context.db
      .selectFrom('events')
      .select(['type', 'device_id'])
      .where('site_id', '=', siteId)
      .execute();
    const offline = events.filter((event) => event.type === 'device.offline');
    expect(new Set(offline.map((event) => event.device_id)).size).toBe(AUTO + MANUAL);
    expect(events.filter((event) => event.type === 'enrollment.requested')).toHaveLength(AUTO + MANUAL);
    expect(events.filter((event) => event.type === 'device.online').length).toBeGreaterThanOrEqual(
      AUTO + MANUAL,
    );
  });

  it('showed the operator every event on the stream as it happened', async () => {
    const ofSite = (type: string) =>
      new Set(
        streamed
          .filter((event) => event.site_id === siteId && event.type === type)
          .map((event) => event.device_id ?? event.id),
      );
    await vi.waitFor(() => expect(ofSite('device.offline').size).toBe(AUTO + MANUAL));
    expect(ofSite('enrollment.requested').size).toBe(AUTO + MANUAL);
    expect(ofSite('device.online').size).toBe(AUTO + MANUAL);
    const ids = streamed.map((event) => event.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

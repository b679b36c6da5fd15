/**
 * Events: what the system and agents record, listing with filters, acknowledging one, many or
 * by filter, the unacknowledged count, and the Server-Sent Events stream with Last-Event-ID
 * resume. Streams are read through the SDK's async iterator; each test waits until the server
 * holds the stream open (its keep-alive timer exists) before making anything happen.
 */
import { describe, expect, it } from 'vitest';
import {
  acknowledgeEvent,
  acknowledgeEvents,
  countUnacknowledgedEvents,
  createCommand,
  enrollAgent,
  getEvent,
  listEvents,
  pollAgentCommands,
  reportAgentCommandResult,
  sendAgentEvent,
  sendAgentHeartbeat,
  streamEvents,
  type Client,
  type Event,
  type ListEventsData,
} from '@meridian/sdk';
import { addAgent, addCode, facts, newFingerprint, type Agent } from './support/agents';
import { ok } from './support/server';
import { expectProblem } from './support/problem';
import { useTestServer } from './support/use-test-server';
import { addMember, addSite } from './support/world';

const t = useTestServer();

const list = async (query: ListEventsData['query'], client: Client = t.admin) =>
  ok(await listEvents({ client, query: { limit: 500, ...query } })).data;
const crash = (agent: Agent, severity: 'warning' | 'error' | 'critical' = 'error') =>
  sendAgentEvent({
    client: agent.client,
    body: {
      type: 'process_crash',
      severity,
      message: 'TouchDesigner exited',
      data: { process_name: 'TouchDesigner', exit_code: -1 },
    },
  });

interface Follower {
  /** The next event on the stream. */
  next(): Promise<Event>;
  /** Every SSE message seen so far, comments included (`data` undefined). */
  messages: { id?: string | undefined; data: unknown }[];
  close(): void;
}

/** Opens the stream through the SDK and resolves once the server holds it open. */
async function follow(
  client: Client,
  query: NonNullable<Parameters<typeof streamEvents>[0]>['query'] = {},
  lastEventId?: string,
): Promise<Follower> {
  const controller = new AbortController();
  const messages: Follower['messages'] = [];
  const { stream } = await streamEvents({
    client,
    query,
    signal: controller.signal,
    sseMaxRetryAttempts: 1,
    ...(lastEventId ? { headers: { 'Last-Event-ID': lastEventId } } : {}),
    onSseEvent: (message) => messages.push({ id: message.id, data: message.data }),
  });
  const iterator = stream[Symbol.asyncIterator]();
  let first: Promise<IteratorResult<unknown>> | undefined = iterator.next();
  await t.clock.waitingOn('event-stream');
  return {
    messages,
    next: async () => {
      const result = await (first ?? iterator.next());
      first = undefined;
      if (result.done) throw new Error('the stream ended');
      return result.value as Event;
    },
    close: () => controller.abort(),
  };
}

describe('system and agent events', () => {
  it('records enrolment, presence, command failures and agent reports, newest last', async () => {
    const site = await addSite(t);
    const since = t.clock.now().toISOString();
    const pending = await enrollAgent({
      client: t.client(),
      body: {
        code: await addCode(t, site.id),
        fingerprint: newFingerprint(),
        facts: facts({ hostname: 'kiosk-7' }),
      },
    });
    expect(pending.response.status).toBe(202);
    const agent = await addAgent(t, site.id);
    ok(
      await sendAgentHeartbeat({
        client: agent.client,
        body: { status: 'ok', agent_version: '1', uptime_seconds: 1 },
      }),
    );
    const command = ok(
      await createCommand({ client: t.admin, body: { device_id: agent.deviceId, type: 'ping' } }),
    );
    await pollAgentCommands({ client: agent.client });
    ok(
      await reportAgentCommandResult({
        client: agent.client,
        path: { command_id: command.id },
        body: { status: 'failed', exit_code: 1, duration_ms: 5 },
      }),
    );
    const reported = await crash(agent);
    expect(reported.response.status).toBe(201);
    expect(reported.data).toMatchObject({
      type: 'agent.process_crash',
      source: 'agent',
      severity: 'error',
      device_id: agent.deviceId,
      site_id: site.id,
      data: { process_name: 'TouchDesigner' },
    });

    const events = await list({ site_id: site.id, since });
    expect(events.map((e) => e.type)).toEqual([
      'enrollment.requested',
      'enrollment.requested',
      'device.enrolled',
      'device.online',
      'command.failed',
      'agent.process_crash',
    ]);
    expect(events[0]).toMatchObject({
      source: 'system',
      severity: 'info',
      device_id: null,
      acknowledged_at: null,
    });
    expect(events.find((e) => e.type === 'command.failed')!.data).toMatchObject({
      command_id: command.id,
      exit_code: 1,
    });
    expect(ok(await getEvent({ client: t.admin, path: { event_id: reported.data!.id } }))).toEqual(
      reported.data,
    );
  });

  it('filters by device, type, severity, acknowledged and since, and shows each operator only their sites', async () => {
    const mine = await addSite(t);
    const theirs = await addSite(t);
    const operator = await addMember(t, 'operator', [mine.id]);
    const agent = await addAgent(t, mine.id);
    const other = await addAgent(t, theirs.id);
    const warning = ok(await crash(agent, 'warning'));
    const critical = ok(await crash(agent, 'critical'));
    const hidden = ok(await crash(other, 'critical'));
    expect((await list({ device_id: agent.deviceId, type: 'agent.process_crash' })).map((e) => e.id)).toEqual(
      [warning.id, critical.id],
    );
    expect((await list({ site_id: mine.id, severity: 'critical' })).map((e) => e.id)).toEqual([critical.id]);
    expect((await list({ device_id: agent.deviceId, since: critical.created_at })).map((e) => e.id)).toEqual([
      critical.id,
    ]);
    ok(await acknowledgeEvent({ client: operator.client, path: { event_id: warning.id } }));
    expect((await list({ device_id: agent.deviceId, acknowledged: true })).map((e) => e.id)).toEqual([
      warning.id,
    ]);
    expect((await list({ device_id: agent.deviceId, acknowledged: false })).map((e) => e.type)).toEqual([
      'device.enrolled',
      'agent.process_crash',
    ]);
    const seen = (await list({}, operator.client)).map((e) => e.id);
    expect(seen).toContain(critical.id);
    expect(seen).not.toContain(hidden.id);
    expect((await getEvent({ client: operator.client, path: { event_id: hidden.id } })).response.status).toBe(
      404,
    );
  });
});

describe('acknowledging', () => {
  it('keeps the first acknowledgement (who and when)', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    const event = ok(await crash(agent));
    const first = ok(await acknowledgeEvent({ client: t.admin, path: { event_id: event.id } }));
    expect(first.acknowledged_at).not.toBeNull();
    const other = await addMember(t, 'admin', []);
    await t.clock.advance(60_000);
    expect(ok(await acknowledgeEvent({ client: other.client, path: { event_id: event.id } }))).toEqual(first);
  });

  it('acknowledges listed events or everything matching a filter, counting only what it changed; both at once is 422', async () => {
    const site = await addSite(t);
    const agent = await addAgent(t, site.id);
    const [a, b, c] = [
      ok(await crash(agent)),
      ok(await crash(agent, 'warning')),
      ok(await crash(agent, 'critical')),
    ];
    expect(
      ok(await acknowledgeEvents({ client: t.admin, body: { event_ids: [a.id, b.id] } })).acknowledged_count,
    ).toBe(2);
    expect(
      ok(await acknowledgeEvents({ client: t.admin, body: { event_ids: [a.id, b.id] } })).acknowledged_count,
    ).toBe(0);
    const both = await acknowledgeEvents({
      client: t.admin,
      body: { event_ids: [c.id], filter: { device_id: agent.deviceId } },
    });
    expectProblem(both, 422, 'ambiguous_selection');
    expect(
      ok(
        await acknowledgeEvents({
          client: t.admin,
          body: { filter: { device_id: agent.deviceId, severity: 'critical' } },
        }),
      ).acknowledged_count,
    ).toBe(1);
    expect(ok(await getEvent({ client: t.admin, path: { event_id: c.id } })).acknowledged_at).not.toBeNull();
    expect((await list({ device_id: agent.deviceId, acknowledged: false })).map((e) => e.type)).toEqual([
      'device.enrolled',
    ]);
  });

  it('counts what is left, per severity, within what one may see', async () => {
    const site = await addSite(t);
    const agent = await addAgent(t, site.id);
    ok(await crash(agent));
    ok(await crash(agent));
    ok(await crash(agent, 'critical'));
    const counted = ok(
      await countUnacknowledgedEvents({ client: t.admin, query: { device_id: agent.deviceId } }),
    );
    expect(counted).toEqual({ count: 4, by_severity: { info: 1, warning: 0, error: 2, critical: 1 } });
    ok(
      await acknowledgeEvents({
        client: t.admin,
        body: { filter: { device_id: agent.deviceId, severity: 'error' } },
      }),
    );
    // The site also has the enrolment request, which belongs to no device yet.
    expect(ok(await countUnacknowledgedEvents({ client: t.admin, query: { site_id: site.id } }))).toEqual({
      count: 3,
      by_severity: { info: 2, warning: 0, error: 0, critical: 1 },
    });
    const stranger = await addMember(t, 'viewer', [(await addSite(t)).id]);
    expect(
      ok(await countUnacknowledgedEvents({ client: stranger.client, query: { site_id: site.id } })).count,
    ).toBe(0);
  });
});

describe('the event stream', () => {
  it('sends each new event as it happens, and a keep-alive comment every 15 seconds', async () => {
    const site = await addSite(t);
    const agent = await addAgent(t, site.id);
    const stream = await follow(t.admin, { site_id: site.id });
    try {
      const sent = ok(await crash(agent));
      expect(await stream.next()).toEqual(sent);
      ok(
        await sendAgentHeartbeat({
          client: agent.client,
          body: { status: 'ok', agent_version: '1', uptime_seconds: 1 },
        }),
      );
      expect(await stream.next()).toMatchObject({ type: 'device.online', device_id: agent.deviceId });
      const before = stream.messages.length;
      await t.clock.advance(15_000);
      const another = ok(await crash(agent, 'warning'));
      expect((await stream.next()).id).toBe(another.id);
      expect(stream.messages.slice(before).some((message) => message.data === undefined)).toBe(true);
      expect(
        stream.messages.filter((message) => message.data !== undefined).map((message) => message.id),
      ).toEqual([sent.id, expect.any(String), another.id]);
    } finally {
      stream.close();
    }
  });

  it('resumes after Last-Event-ID with every event missed, then carries on', async () => {
    const site = await addSite(t);
    const agent = await addAgent(t, site.id);
    const seen = ok(await crash(agent));
    const missed = [ok(await crash(agent)), ok(await crash(agent, 'critical'))];
    const stream = await follow(t.admin, { site_id: site.id }, seen.id);
    try {
      expect((await stream.next()).id).toBe(missed[0]!.id);
      expect((await stream.next()).id).toBe(missed[1]!.id);
      const live = ok(await crash(agent, 'warning'));
      expect((await stream.next()).id).toBe(live.id);
    } finally {
      stream.close();
    }
  });

  it("carries only the events of the follower's sites and filters", async () => {
    const mine = await addSite(t);
    const theirs = await addSite(t);
    const viewer = await addMember(t, 'viewer', [mine.id]);
    const agent = await addAgent(t, mine.id);
    const other = await addAgent(t, theirs.id);
    const stream = await follow(viewer.client, { severity: 'critical' });
    try {
      ok(await crash(other, 'critical'));
      ok(await crash(agent, 'error'));
      const wanted = ok(await crash(agent, 'critical'));
      expect((await stream.next()).id).toBe(wanted.id);
    } finally {
      stream.close();
    }
  });
});

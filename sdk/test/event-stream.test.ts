/**
 * `meridian.events.stream()` against the real server: events arrive as typed objects while
 * they happen, and a new stream given the last event's ID resumes after it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Meridian, MeridianAgent, type Event, type ServerSentEvent } from '../src/index';
import { checkedFetch } from '../../test/support/checked-fetch';
import { useTestServer } from '../../test/support/use-test-server';

const t = useTestServer();
let operator: Meridian;
let code: string;
let siteId: string;

beforeAll(async () => {
  operator = new Meridian({ baseUrl: t.url, token: t.adminToken, fetch: checkedFetch });
  const site = await operator.sites.create({ name: 'Streamed' });
  siteId = site.id;
  code = (await operator.enrollmentCodes.create(site.id, { auto_approve: true })).code;
});

/** Enrols a machine and sends its first heartbeat: `enrollment.requested`, `device.enrolled`, `device.online`. */
async function bringOnline(n: number): Promise<string> {
  const agent = new MeridianAgent({ baseUrl: t.url, fetch: checkedFetch });
  await agent.enroll({
    code,
    fingerprint: `stream-test:${n}`,
    facts: { hostname: `streamed-${n}`, platform: 'linux', agent_version: '1.0.0' },
  });
  await agent.heartbeat({ status: 'ok', agent_version: '1.0.0', uptime_seconds: 1 });
  return agent.deviceId!;
}

/** Reads events from an iterator until `count` have arrived. */
async function take(
  iterator: AsyncIterator<ServerSentEvent<Event>>,
  count: number,
): Promise<ServerSentEvent<Event>[]> {
  const events: ServerSentEvent<Event>[] = [];
  while (events.length < count) {
    const next = await iterator.next();
    if (next.done) break;
    events.push(next.value);
  }
  return events;
}

describe('events.stream()', () => {
  it('yields events as they happen, typed, and resumes after Last-Event-ID', async () => {
    const stop = new AbortController();
    const stream = operator.events.stream({ site_id: siteId }, { signal: stop.signal });
    const iterator = stream[Symbol.asyncIterator]();
    const first = take(iterator, 3);
    const deviceId = await bringOnline(1);
    const events = await first;
    expect(events.map((event) => [event.event, event.data.type, event.data.device_id])).toEqual([
      ['enrollment.requested', 'enrollment.requested', null],
      ['device.enrolled', 'device.enrolled', deviceId],
      ['device.online', 'device.online', deviceId],
    ]);
    expect(events[2]!.id).toBe(events[2]!.data.id);
    expect(stream.lastEventId).toBe(events[2]!.id);
    stop.abort();
    expect((await iterator.next()).done).toBe(true);

    // Three more happen while nobody listens; a stream that resumes gets exactly those.
    const second = await bringOnline(2);
    const resumed = operator.events
      .stream({ site_id: siteId }, { headers: { 'Last-Event-ID': stream.lastEventId! } })
      [Symbol.asyncIterator]();
    const missed = await take(resumed, 3);
    expect(missed.map((event) => [event.data.type, event.data.device_id])).toEqual([
      ['enrollment.requested', null],
      ['device.enrolled', second],
      ['device.online', second],
    ]);
    await resumed.return?.(undefined);
  });

  it('throws the typed error when the stream is refused', async () => {
    const stranger = new Meridian({ baseUrl: t.url, token: 'mtk_not-a-token', maxRetries: 0 });
    const error = await stranger.events
      .stream()
      [Symbol.asyncIterator]()
      .next()
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 401 });
  });

  it("reconnects after the connection ends, waiting the server's retry and sending Last-Event-ID", async () => {
    const sent: (string | null)[] = [];
    const bodies = [
      'retry: 10\n\nid: evt_1\nevent: device.online\ndata: {"id":"evt_1"}\n\n: keep-alive\n\n',
      'id: evt_2\nevent: device.offline\ndata: {"id":"evt_2",\ndata: "note":"two lines"}\n\n',
    ];
    const fake = new Meridian({
      baseUrl: 'http://meridian.test',
      token: 'mtk_x',
      fetch: async (input) => {
        const request = input as Request;
        sent.push(request.headers.get('last-event-id'));
        const body = bodies.shift();
        if (body === undefined) return new Promise<Response>(() => undefined);
        return new Response(body, { headers: { 'Content-Type': 'text/event-stream' } });
      },
    });
    const events: ServerSentEvent<unknown>[] = [];
    for await (const event of fake.events.stream()) {
      events.push(event);
      if (events.length === 2) break;
    }
    expect(events).toEqual([
      { id: 'evt_1', event: 'device.online', data: { id: 'evt_1' } },
      { id: 'evt_2', event: 'device.offline', data: { id: 'evt_2', note: 'two lines' } },
    ]);
    expect(sent).toEqual([null, 'evt_1']);
  });
});

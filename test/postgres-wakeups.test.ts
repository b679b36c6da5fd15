/**
 * Wake-ups across instances: two servers on one PostgreSQL database, each on its own clock. No
 * test moves a clock to end a wait, so a long-poll, a wait or a stream held by one instance
 * answers only when the change made through the other reaches it (PostgreSQL LISTEN/NOTIFY);
 * without that they would answer at their deadline, which never comes. Then: more topics at once
 * than one NOTIFY carries; the listening connection is cut and comes back, waking its waiters;
 * and the periodic sweep, ticking on both instances, runs on one.
 */
import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { decodeTime, TIME_LEN } from 'ulid';
import {
  approveEnrollmentRequest,
  createCommand,
  createJob,
  listEvents,
  pollAgentCommands,
  pollAgentEnrollment,
  reportAgentCommandResult,
  sendAgentHeartbeat,
  simulateEvent,
  streamEvents,
  type Event,
} from '@meridian/sdk';
import { addAgent, addCode, agentFrom, type Agent } from './support/agents';
import { usePostgresInstances } from './support/postgres';
import { ok, type TestServer } from './support/server';
import { addSite, requestEnrollment } from './support/world';

const [a, b] = usePostgresInstances();

/** How long (real time) a wake-up may take before the test calls it lost; deadlines are 30 s of a clock that stands still. */
const WAKE_UP_MS = 5000;

/** `promise`, or a failure if it has not settled within WAKE_UP_MS. */
function wokenUp<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const lost = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no wake-up within ${WAKE_UP_MS} ms`)), WAKE_UP_MS);
  });
  return Promise.race([promise, lost]).finally(() => clearTimeout(timer));
}

const echo = (t: TestServer, agent: Agent, waitSeconds = 0) =>
  createCommand({
    client: t.admin,
    body: { device_id: agent.deviceId, type: 'echo', params: { text: 'hi' } },
    query: { wait_seconds: waitSeconds },
  });

/** The agent long-polls `t` (30 s); resolves once the poll is waiting, with its answer to come. */
async function longPoll(t: TestServer, agent: Agent) {
  const answer = pollAgentCommands({
    client: agentFrom(t, agent.credentials).client,
    query: { wait_seconds: 30 },
  });
  await t.clock.waitingOn('agent-commands');
  return { answer };
}

/** The agent, through `t`, takes its one queued command and reports it done; returns its ID. */
async function runCommandThrough(t: TestServer, agent: Agent): Promise<string> {
  const { client } = agentFrom(t, agent.credentials);
  const [command] = ok(await pollAgentCommands({ client })).data;
  ok(
    await reportAgentCommandResult({
      client,
      path: { command_id: command!.id },
      body: { status: 'succeeded', exit_code: 0, duration_ms: 1 },
    }),
  );
  return command!.id;
}

const raiseEvent = async (t: TestServer, siteId: string) =>
  ok(await simulateEvent({ client: t.admin, body: { type: 'agent.process_crash', site_id: siteId } })).id;

/** Follows the site's events on `t` (as an admin); resolves once the server holds the stream open. */
async function follow(t: TestServer, siteId: string) {
  const controller = new AbortController();
  const { stream } = await streamEvents({
    client: t.admin,
    query: { site_id: siteId },
    signal: controller.signal,
    sseMaxRetryAttempts: 1,
  });
  const events: AsyncIterator<unknown> = stream[Symbol.asyncIterator]();
  const first = events.next();
  await t.clock.waitingOn('event-stream');
  let pending: Promise<IteratorResult<unknown>> | undefined = first;
  return {
    /** The ID of the next event on the stream. */
    next: async () => {
      const result = await wokenUp(pending ?? events.next(), 'event stream');
      pending = undefined;
      return (result.value as Event).id;
    },
    close: () => controller.abort(),
  };
}

describe('two instances on one PostgreSQL database', () => {
  it('a command created on one reaches the agent long-polling on the other', async () => {
    const agent = await addAgent(a, (await addSite(a)).id);
    const { answer: polling } = await longPoll(a, agent);
    const command = ok(await echo(b, agent));
    expect(ok(await wokenUp(polling, 'long-poll on A')).data.map((c) => c.id)).toEqual([command.id]);
  });

  it('a command wait on one answers when the agent reports through the other', async () => {
    const agent = await addAgent(a, (await addSite(a)).id);
    const creating = echo(a, agent, 30);
    await a.clock.waitingOn('command-wait');
    const commandId = await runCommandThrough(b, agent);
    const answer = await wokenUp(creating, 'command wait on A');
    expect(answer.response.status).toBe(200);
    expect(answer.data).toMatchObject({ id: commandId, status: 'succeeded' });
  });

  it('a job wait on one answers when the agent reports its command through the other', async () => {
    const agent = await addAgent(a, (await addSite(a)).id);
    const starting = createJob({
      client: a.admin,
      body: { command: { type: 'echo', params: { text: 'hi' } }, target: { device_ids: [agent.deviceId] } },
      query: { wait_seconds: 30 },
    });
    await a.clock.waitingOn('job-wait');
    await runCommandThrough(b, agent);
    const answer = await wokenUp(starting, 'job wait on A');
    expect(answer.response.status).toBe(200);
    expect(answer.data).toMatchObject({ state: 'succeeded', counts: { succeeded: 1 } });
  });

  it('an event raised on one appears on a stream held by the other', async () => {
    const site = await addSite(a);
    const stream = await follow(b, site.id);
    const raised = await raiseEvent(a, site.id);
    expect(await stream.next()).toBe(raised);
    stream.close();
  });

  it('an event committed after a newer one, as from an instance whose clock is behind, still reaches the stream', async () => {
    const site = await addSite(a);
    const stream = await follow(b, site.id);
    const newer = await raiseEvent(a, site.id);
    expect(await stream.next()).toBe(newer);
    // Made in the same millisecond by an instance whose clock is a little behind (so its ID sorts
    // first), and committed only now.
    const late = `evt_${newer.slice('evt_'.length, 'evt_'.length + TIME_LEN)}${'0'.repeat(16)}`;
    await a.server.context.db
      .insertInto('events')
      .values({
        id: late,
        type: 'agent.process_crash',
        severity: 'info',
        source: 'system',
        site_id: site.id,
        device_id: null,
        message: 'Late',
        data: '{}',
        created_at: new Date(decodeTime(late.slice('evt_'.length))).toISOString(),
        acknowledged_at: null,
        acknowledged_by: null,
      })
      .execute();
    const newest = await raiseEvent(a, site.id);
    expect([await stream.next(), await stream.next()]).toEqual([late, newest]);
    stream.close();
  });

  it('an enrolment poll waiting on one answers when the request is approved on the other', async () => {
    const pending = await requestEnrollment(a, await addCode(a, (await addSite(a)).id));
    const polling = pollAgentEnrollment({
      client: a.client(),
      body: { request_id: pending.request_id, poll_token: pending.poll_token },
      query: { wait_seconds: 30 },
    });
    await a.clock.waitingOn('agent-enrollment');
    ok(
      await approveEnrollmentRequest({ client: b.admin, path: { request_id: pending.request_id }, body: {} }),
    );
    expect(ok(await wokenUp(polling, 'enrolment poll on A'))).toMatchObject({
      status: 'approved',
      credentials: expect.anything(),
    });
  });

  it('carries many topics notified at once (more than one NOTIFY payload holds) to the other', async () => {
    const topics = Array.from({ length: 1000 }, (_, n) => `many-topics-test:${n}:${'x'.repeat(40)}`);
    const woken = topics.map(
      (topic) =>
        new Promise<void>((resolve) => {
          const unsubscribe = b.server.context.signals.subscribe(topic, () => {
            unsubscribe();
            resolve();
          });
        }),
    );
    for (const topic of topics) a.server.context.signals.notify(topic);
    await wokenUp(Promise.all(woken), 'subscribers on B');
  });

  it('waiters are woken once the listening connection is back, and notifications cross again', async () => {
    const agent = await addAgent(a, (await addSite(a)).id);
    const { answer: polling } = await longPoll(a, agent);
    await sql`select pg_terminate_backend(pid) from pg_stat_activity where query = 'LISTEN meridian_signals'`.execute(
      a.server.context.db,
    );
    await Promise.all([a.clock.waitingOn('signals-reconnect'), b.clock.waitingOn('signals-reconnect')]);
    // Sent while A does not listen: A's poll misses it, and finds the command once A listens again.
    const missed = ok(await echo(b, agent));
    await Promise.all([a.clock.advance(1000), b.clock.advance(1000)]);
    expect(ok(await wokenUp(polling, 'long-poll on A after reconnecting')).data.map((c) => c.id)).toEqual([
      missed.id,
    ]);
    const { answer: again } = await longPoll(a, agent);
    const next = ok(await echo(b, agent));
    expect(ok(await wokenUp(again, 'long-poll on A')).data.map((c) => c.id)).toEqual([next.id]);
  });

  it('the periodic sweep ticking on both runs on one: each device goes offline once', async () => {
    const site = await addSite(a);
    const agents = [await addAgent(a, site.id), await addAgent(a, site.id), await addAgent(a, site.id)];
    for (const agent of agents)
      ok(
        await sendAgentHeartbeat({
          client: agent.client,
          body: { status: 'ok', agent_version: '1.0.0', uptime_seconds: 1 },
        }),
      );
    // Counts the UPDATE statements on devices (even those that change no row): the sweep makes one.
    const { db } = a.server.context;
    await sql`create table device_updates (at timestamptz not null default now())`.execute(db);
    await sql`create function count_device_update() returns trigger language plpgsql as
      $$ begin insert into device_updates default values; return null; end $$`.execute(db);
    await sql`create trigger device_updates after update on devices
      for each statement execute function count_device_update()`.execute(db);
    // Both clocks pass the offline threshold; each instance's sweep timer fires once.
    const past = (a.server.context.fleet.offlineAfterSeconds + 1) * 1000;
    await a.clock.advance(past);
    await b.clock.advance(past);
    const { rows } = await sql<{ count: string }>`select count(*) as count from device_updates`.execute(db);
    expect(Number(rows[0]!.count)).toBe(1);
    const offline = ok(
      await listEvents({ client: b.admin, query: { site_id: site.id, type: 'device.offline', limit: 500 } }),
    ).data;
    expect(offline.map((event) => event.device_id).sort()).toEqual(
      agents.map((agent) => agent.deviceId).sort(),
    );
  });
});

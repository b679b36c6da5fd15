/**
 * Idempotency keys recover from requests whose client or holder went away: the outcome of a
 * request is recorded when the route answers, even if the client disconnected long before (a
 * retry then replays it), and a claim whose holder died is taken over once its lease runs out.
 */
import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createCommand, listCommands } from '@meridian/sdk';
import { LEASE_MS } from '../server-stub/src/http/idempotency';
import { keyDigest } from '../server-stub/src/http/replay-seal';
import { addAgent, type Agent } from './support/agents';
import { ok } from './support/server';
import { expectProblem } from './support/problem';
import { useTestServer } from './support/use-test-server';
import { addSite, unique } from './support/world';

const t = useTestServer();
let agent: Agent;
beforeAll(async () => {
  agent = await addAgent(t, (await addSite(t)).id);
});

const body = () => ({ device_id: agent.deviceId, type: 'echo' as const, params: { text: unique('hi') } });
const send = (
  key: string,
  sent: ReturnType<typeof body>,
  options: { waitSeconds?: number; signal?: AbortSignal } = {},
) =>
  createCommand({
    client: t.admin,
    body: sent,
    headers: { 'Idempotency-Key': key },
    ...(options.waitSeconds === undefined ? {} : { query: { wait_seconds: options.waitSeconds } }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
const commandsOfAgent = async () =>
  ok(await listCommands({ client: t.admin, query: { device_id: agent.deviceId, limit: 500 } })).data;

/** Resolves with the server's response object once the server starts on a request with this key. */
function serverSideOf(key: string): Promise<ServerResponse> {
  return new Promise((resolve) => {
    const channel = diagnostics.channel('http.server.request.start');
    const listener = (message: unknown) => {
      const { request, response } = message as { request: IncomingMessage; response: ServerResponse };
      if (request.headers['idempotency-key'] !== key) return;
      channel.unsubscribe(listener);
      resolve(response);
    };
    channel.subscribe(listener);
  });
}

describe('a create whose client went away', () => {
  it('is replayed to the retry once the route answers, though the answer never reached anyone', async () => {
    const key = crypto.randomUUID();
    const sent = body();
    const before = (await commandsOfAgent()).length;
    const serverSide = serverSideOf(key);
    const abort = new AbortController();
    const first = send(key, sent, { waitSeconds: 30, signal: abort.signal });
    await t.clock.waitingOn('command-wait');
    abort.abort();
    expect((await first).response).toBeUndefined();
    // The server has seen the connection close before the wait ends and the route answers.
    const response = await serverSide;
    if (!response.destroyed) await new Promise((resolve) => response.once('close', resolve));
    await t.clock.advance(30_000);

    // A client retries 409 ("still being processed") shortly after; once the route has answered,
    // the retry gets that answer.
    const retry = await vi.waitFor(
      async () => {
        const result = await send(key, sent, { waitSeconds: 30 });
        expect(result.response.status).toBe(202);
        return result;
      },
      { timeout: 5000, interval: 50 },
    );
    expect(retry.response.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.data).toMatchObject({ device_id: agent.deviceId, params: sent.params, status: 'pending' });
    expect((await commandsOfAgent()).length).toBe(before + 1);
  });
});

describe('a claim whose holder died', () => {
  /** A request that claimed the key, created its command, and died before answering. */
  async function diedWhileRunning(key: string, sent: ReturnType<typeof body>): Promise<void> {
    expect((await send(key, sent)).response.status).toBe(202);
    await t.server.context.db
      .updateTable('idempotency_keys')
      .set({ status: null, content_type: null, response_body: null, response_headers: null })
      .where('key_digest', '=', keyDigest(key))
      .execute();
  }

  it('is still in progress (409) while its lease lasts', async () => {
    const key = crypto.randomUUID();
    const sent = body();
    await diedWhileRunning(key, sent);
    await t.clock.advance(LEASE_MS - 1000);
    const retry = await send(key, sent);
    expectProblem(retry, 409, 'idempotency_request_in_progress');
  });

  it('is taken over by a retry once the lease runs out: the retry runs the request', async () => {
    const key = crypto.randomUUID();
    const sent = body();
    await diedWhileRunning(key, sent);
    const before = (await commandsOfAgent()).length;
    await t.clock.advance(LEASE_MS + 1000);
    const retry = await send(key, sent);
    expect(retry.response.status).toBe(202);
    expect(retry.response.headers.get('idempotent-replayed')).toBeNull();
    expect((await commandsOfAgent()).length).toBe(before + 1);
    // The new holder's answer is the one kept.
    const again = await send(key, sent);
    expect(again.response.headers.get('idempotent-replayed')).toBe('true');
    expect(again.data).toEqual(retry.data);
  });

  it('is taken over by one of two concurrent retries only', async () => {
    const key = crypto.randomUUID();
    const sent = body();
    await diedWhileRunning(key, sent);
    const before = (await commandsOfAgent()).length;
    await t.clock.advance(LEASE_MS + 1000);
    const retries = await Promise.all([send(key, sent), send(key, sent)]);
    const ran = retries.filter(
      (retry) => retry.response.status === 202 && retry.response.headers.get('idempotent-replayed') === null,
    );
    expect(ran).toHaveLength(1);
    for (const other of retries.filter((retry) => !ran.includes(retry)))
      expect([202, 409]).toContain(other.response.status);
    expect((await commandsOfAgent()).length).toBe(before + 1);
  });
});

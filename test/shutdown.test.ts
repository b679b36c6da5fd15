/**
 * Graceful shutdown and readiness. A server in its own process (support/child-server.ts, which
 * shuts down on SIGTERM as `npm start` does) gets SIGTERM while an operator waits for a command,
 * an agent long-polls and an event stream is open: it stops accepting connections, answers 503
 * on GET /ready over a connection it already had, answers the wait and the long-poll at once,
 * ends the stream, and exits with 0, cutting a request that never finishes when the grace runs
 * out. The child's timers are real: the grace is real seconds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import {
  createCommand,
  createSite,
  getReadiness,
  listCommands,
  login,
  pollAgentCommands,
} from '@meridian/sdk';
import { addAgent } from './support/agents';
import { checkedFetch } from './support/checked-fetch';
import { type Child, clientOf, startChild } from './support/child';
import { startPostgres } from './support/postgres';
import { expectProblem } from './support/problem';
import { responseViolations } from './support/response-validator';
import { ADMIN, ok, startTestServer } from './support/server';
import { operationById } from './support/spec';

const GRACE_SECONDS = 6;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startDrainable(): Promise<Child & { exited: Promise<number | null> }> {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-shutdown-'));
  const child = await startChild({
    database: join(dir, 'meridian.sqlite'),
    port: 0,
    host: '127.0.0.1',
    adminUsername: ADMIN.username,
    adminPassword: ADMIN.password,
    passwordCost: 2 ** 10,
    logLevel: 'silent',
    shutdownGraceSeconds: GRACE_SECONDS,
  });
  const exited = new Promise<number | null>((resolve) => child.process.once('exit', resolve));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => child.process.kill('SIGKILL'));
  return { ...child, exited };
}

/**
 * A connection on which a request has begun (its first header line is sent, not the rest): the
 * server counts it in flight, so a drain neither refuses nor closes it. `finish` sends the rest
 * and resolves with the response, once the server has closed the connection.
 */
async function begunRequest(url: string, path: string) {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect(Number(port), hostname);
  await new Promise((resolve) => socket.once('connect', resolve));
  let received = '';
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString();
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n`);
  return {
    closed,
    async finish() {
      socket.write('\r\n');
      await closed;
      const [head, body = ''] = received.split('\r\n\r\n');
      const [statusLine, ...lines] = head!.split('\r\n');
      const headers = new Headers(lines.map((line) => line.split(/:\s*/, 2) as [string, string]));
      return { status: Number(statusLine!.split(' ')[1]), headers, body };
    },
  };
}

/** Reads an event stream's body to its end; rejects if it breaks off instead of ending. */
async function readToEnd(body: ReadableStream<Uint8Array>): Promise<string> {
  const reader = body.getReader();
  let text = '';
  for (let read = await reader.read(); !read.done; read = await reader.read())
    text += Buffer.from(read.value).toString();
  return text;
}

it('on SIGTERM drains: /ready 503, waits answer at once, the stream ends, exit 0 within the grace', async () => {
  const child = await startDrainable();
  const { token } = ok(await login({ client: clientOf(child.url), body: ADMIN }));
  const admin = clientOf(child.url, token);
  expect(ok(await getReadiness({ client: clientOf(child.url) }))).toEqual({ status: 'ready' });
  const site = ok(await createSite({ client: admin, body: { name: 'Drained site' } }));
  const agentClients = { admin, client: (token?: string) => clientOf(child.url, token) };
  const [commanded, polling] = [await addAgent(agentClients, site.id), await addAgent(agentClients, site.id)];

  const readiness = await begunRequest(child.url, '/ready');
  const longPoll = pollAgentCommands({ client: polling.client, query: { wait_seconds: 30 } });
  const stream = await checkedFetch(`${child.url}/v1/events/stream`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const streamBody = stream.body!;
  const reader = streamBody.getReader();
  expect(Buffer.from((await reader.read()).value!).toString()).toContain('retry:');
  reader.releaseLock();
  const wait = createCommand({
    client: admin,
    body: { device_id: commanded.deviceId, type: 'echo', params: { text: 'hi' } },
    query: { wait_seconds: 30 },
  });
  // The command is in the database once its creator has begun to wait for it.
  const listed = () => listCommands({ client: admin, query: { device_id: commanded.deviceId } });
  let commands = ok(await listed()).data;
  while (commands.length === 0) commands = ok(await listed()).data;

  const signalled = Date.now();
  child.process.kill('SIGTERM');
  const answered = await wait;
  expect(answered.response.status).toBe(202);
  expect(answered.data).toMatchObject({ device_id: commanded.deviceId, status: 'pending' });
  expect(ok(await longPoll)).toEqual({ data: [] });
  expect(await readToEnd(streamBody)).not.toContain('event:');
  expect(Date.now() - signalled).toBeLessThan(GRACE_SECONDS * 1000);

  // No new connection is accepted; the one whose request had begun is answered 503.
  await expect(fetch(`${child.url}/health`)).rejects.toThrow();
  const ready = await readiness.finish();
  expect(responseViolations(operationById('getReadiness'), ready)).toEqual([]);
  expect(ready.status).toBe(503);
  expect(ready.headers.get('connection')).toBe('close');
  expect(JSON.parse(ready.body)).toMatchObject({ status: 503, code: 'shutting_down' });

  expect(await child.exited).toBe(0);
  expect(Date.now() - signalled).toBeLessThan(GRACE_SECONDS * 1000);
}, 60_000);

it('cuts a request still unfinished when the grace runs out, then exits with 0', async () => {
  const child = await startDrainable();
  const stalled = await begunRequest(child.url, '/health');
  // A whole request answered after it makes sure the server has read the begun one.
  ok(await getReadiness({ client: clientOf(child.url) }));
  const signalled = Date.now();
  child.process.kill('SIGTERM');
  await stalled.closed;
  expect(Date.now() - signalled).toBeGreaterThanOrEqual(GRACE_SECONDS * 1000 - 100);
  expect(await child.exited).toBe(0);
}, 60_000);

it('is not ready while its database cannot be reached', async () => {
  const t = await startTestServer();
  cleanups.push(() => t.close());
  expect(ok(await getReadiness({ client: t.client() }))).toEqual({ status: 'ready' });
  await t.server.context.db.destroy();
  expectProblem(await getReadiness({ client: t.client() }), 503, 'database_unavailable');
});

it('is not ready while its PostgreSQL server is down, and lives through it', async () => {
  const pg = await startPostgres();
  let running = true;
  cleanups.push(() => running && pg.stop());
  const t = await startTestServer({ database: pg.url });
  cleanups.push(() => t.close());
  expect(ok(await getReadiness({ client: t.client() }))).toEqual({ status: 'ready' });
  pg.stop();
  running = false;
  expectProblem(await getReadiness({ client: t.client() }), 503, 'database_unavailable');
});

/**
 * The server's logs, captured from the destination stream it is given: one JSON line per
 * request with its request ID (the Request-Id header), the principal, the operation, the status
 * and the duration; no password, session token, API token, agent token or enrolment code ever
 * appears; and `logLevel` decides what is written.
 */
import {
  createApiToken,
  getAgentInstallScript,
  getCurrentUser,
  login,
  sendAgentHeartbeat,
} from '@meridian/sdk';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { addAgent, addCode } from './support/agents';
import { expectProblem } from './support/problem';
import { ADMIN, ok } from './support/server';
import { useTestServer } from './support/use-test-server';
import { addSite, unique } from './support/world';

interface LogLine {
  level: number;
  msg: string;
  request_id?: string;
  operation_id?: string;
  status?: number;
  duration_ms?: number;
  principal?: Record<string, string | null>;
}

function capture() {
  const lines: string[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(line) } };
}

/** The lines written about one request. */
const linesOf = (lines: string[], requestId: string | null): LogLine[] =>
  lines.map((line) => JSON.parse(line) as LogLine).filter((line) => line.request_id === requestId);

describe('request logs', () => {
  const log = capture();
  const t = useTestServer({ logLevel: 'info', logDestination: log.destination });

  it('write one JSON line per request with its ID, principal, operation, status and duration', async () => {
    const signIn = await login({ client: t.client(), body: ADMIN });
    const session = ok(signIn).token;
    const me = await getCurrentUser({ client: t.client(session) });
    const { user } = ok(me);
    const created = ok(
      await createApiToken({
        client: t.client(session),
        body: { name: unique('token'), scopes: ['users:read'] },
      }),
    );
    const withToken = await getCurrentUser({ client: t.client(created.token) });
    const agent = await addAgent(t, (await addSite(t)).id);
    const beat = await sendAgentHeartbeat({
      client: agent.client,
      body: { status: 'ok', agent_version: '1.2.0', uptime_seconds: 120 },
    });
    const refused = await getCurrentUser({ client: t.client('mst_not-a-real-token') });
    expectProblem(refused, 401, 'session_expired');

    const expected = [
      [signIn.response, 'login', 200, undefined],
      [me.response, 'getCurrentUser', 200, { kind: 'user', user_id: user.id, token_id: null }],
      [
        withToken.response,
        'getCurrentUser',
        200,
        { kind: 'api_token', user_id: user.id, token_id: created.id },
      ],
      [
        beat.response,
        'sendAgentHeartbeat',
        beat.response.status,
        { kind: 'agent', device_id: agent.deviceId },
      ],
      [refused.response, 'getCurrentUser', 401, undefined],
    ] as const;
    for (const [response, operation, status, principal] of expected) {
      const requestId = response.headers.get('Request-Id');
      const lines = linesOf(log.lines, requestId);
      expect(lines, `${operation} ${status}`).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        level: 30,
        operation_id: operation,
        status,
        msg: expect.stringContaining(` ${status}`),
        duration_ms: expect.any(Number),
      });
      expect(lines[0]!.principal).toEqual(principal);
    }

    const everything = log.lines.join('\n');
    for (const secret of [
      ADMIN.password,
      session,
      created.token,
      agent.credentials.access_token,
      'mst_not-a-real-token',
    ]) {
      expect(everything).not.toContain(secret);
    }
    expect(everything).not.toMatch(/authorization|cookie/i);
  });

  it("leave out a credential in the query: an install script's enrolment code", async () => {
    const code = await addCode(t, (await addSite(t)).id);
    const response = (await getAgentInstallScript({ client: t.client(), query: { code, channel: 'beta' } }))
      .response;
    expect(linesOf(log.lines, response.headers.get('Request-Id'))).toMatchObject([
      { msg: 'GET /v1/agent/install.sh?code=[redacted]&channel=beta 404' },
    ]);
    expect(log.lines.join('\n')).not.toContain(code);
  });

  it('log requests that reached no operation too', async () => {
    const response = await fetch(`${t.url}/v1/no-such-thing`);
    expect(linesOf(log.lines, response.headers.get('Request-Id'))).toMatchObject([
      { status: 404, msg: 'GET /v1/no-such-thing 404' },
    ]);
  });
});

describe('a failed request', () => {
  const log = capture();
  const t = useTestServer({ logLevel: 'info', logDestination: log.destination });

  it('is logged once, at level error, with the error and its stack', async () => {
    // Listing sites now fails on a table that is gone: an unexpected error, answered 500.
    await sql`drop table sites`.execute(t.server.context.db);
    const response = await fetch(`${t.url}/v1/sites`, {
      headers: { Authorization: `Bearer ${t.adminToken}` },
    });
    expect(response.status).toBe(500);
    const lines = linesOf(log.lines, response.headers.get('Request-Id'));
    expect(lines).toMatchObject([{ level: 50, operation_id: 'listSites', status: 500 }]);
    expect(lines[0]).toMatchObject({
      err: { message: expect.stringContaining('no such table'), stack: expect.any(String) },
    });
  });
});

describe('the log level', () => {
  const log = capture();
  const t = useTestServer({ logLevel: 'warn', logDestination: log.destination });

  it('leaves out the lines below it', async () => {
    const response = await fetch(`${t.url}/health`);
    expect(response.status).toBe(200);
    expect(log.lines).toEqual([]);
  });
});

/**
 * The heartbeat lane (server-stub/src/agent/heartbeat-lane.ts) answers plain heartbeats in front of
 * Express. What a client sees must not depend on which of the two answered: the same status, body
 * and headers, one log line and one request counted each, and every refusal (malformed JSON, a body
 * the schema refuses, a bad token, a spent rate limit) answered as Express answers it.
 */
import { describe, expect, it } from 'vitest';
import { addAgent, type Agent } from './support/agents';
import { useTestServer } from './support/use-test-server';
import { addSite } from './support/world';

const HEARTBEAT = { status: 'ok', agent_version: '1.2.0', uptime_seconds: 120 };
const BUDGET = 40;

interface LogLine {
  request_id?: string;
  operation_id?: string;
  status?: number;
  principal?: Record<string, string | null>;
}

const lines: string[] = [];
const t = useTestServer({
  logLevel: 'info',
  logDestination: { write: (line: string) => void lines.push(line) },
  requestsPerMinute: BUDGET,
});

/** The lines logged about the request that got `response`. */
const linesOf = (response: Response): LogLine[] =>
  lines
    .map((line) => JSON.parse(line) as LogLine)
    .filter((line) => line.request_id === response.headers.get('request-id'));

/** A heartbeat as an agent sends it, with `headers` added (a cookie sends it past the lane). */
function beat(agent: Agent, { body, headers }: { body?: string; headers?: Record<string, string> } = {}) {
  return fetch(`${t.url}/v1/agent/heartbeat`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${agent.credentials.access_token}`,
      'content-type': 'application/json',
      ...headers,
    },
    body: body ?? JSON.stringify(HEARTBEAT),
  });
}

/** Header names of a response, but those whose presence varies by design (Date, Connection…). */
const headerNames = (response: Response): string[] =>
  [...response.headers.keys()].filter((name) => !['date', 'connection', 'keep-alive'].includes(name)).sort();

const expectProblem = async (response: Response, status: number, code: string) => {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(await response.json()).toMatchObject({
    status,
    code,
    request_id: response.headers.get('request-id'),
  });
};

describe('the heartbeat lane', () => {
  it('answers as Express answers: the same status, body, headers, log line and metrics', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    await beat(agent); // the first heartbeat brings the device online; the next ones keep it
    const lane = await beat(agent);
    // A cookie that is no session is ignored by Express, but sends the request past the lane.
    const express = await beat(agent, { headers: { cookie: 'theme=dark' } });
    expect(lane.status).toBe(200);
    expect(express.status).toBe(200);
    expect(headerNames(lane)).toEqual(headerNames(express));
    const [laneBody, expressBody] = [await lane.json(), await express.json()];
    expect(Object.keys(laneBody).sort()).toEqual(Object.keys(expressBody).sort());
    expect({ ...laneBody, server_time: null }).toEqual({ ...expressBody, server_time: null });
    expect(Number(lane.headers.get('ratelimit-remaining'))).toBe(
      Number(express.headers.get('ratelimit-remaining')) + 1,
    );
    for (const response of [lane, express]) {
      expect(linesOf(response)).toEqual([
        expect.objectContaining({
          operation_id: 'sendAgentHeartbeat',
          status: 200,
          principal: { kind: 'agent', device_id: agent.deviceId },
        }),
      ]);
    }
  });

  it('counts each heartbeat once in the metrics', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    const counted = async () => {
      const metrics = await fetch(`${t.url}/metrics`, {
        headers: { authorization: `Bearer ${t.adminToken}` },
      });
      const line = (await metrics.text())
        .split('\n')
        .find((l) => l.startsWith('meridian_agent_heartbeats_total'));
      return Number(line?.split(' ')[1] ?? 0);
    };
    const before = await counted();
    for (let n = 0; n < 3; n++) expect((await beat(agent)).status).toBe(200);
    expect(await counted()).toBe(before + 3);
  });

  it('refuses malformed JSON and a body the schema refuses as Express does, with one log line', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    const viaLaneAndExpress: Record<string, string>[] = [{}, { cookie: 'theme=dark' }];
    for (const headers of viaLaneAndExpress) {
      const malformed = await beat(agent, { body: '{"status": ', headers });
      await expectProblem(malformed, 400, 'malformed_json');
      // As in Express, a body that is not JSON is refused before the request is counted.
      expect(malformed.headers.get('ratelimit-limit')).toBeNull();
      expect(linesOf(malformed)).toEqual([expect.objectContaining({ status: 400 })]);
      const scalar = await beat(agent, { body: '"ok"', headers });
      await expectProblem(scalar, 400, 'malformed_json');
      // JSON's whitespace is space, tab and line breaks: not a no-break space, which trim() drops.
      const spaced = await beat(agent, { body: `\u00a0${JSON.stringify(HEARTBEAT)}`, headers });
      await expectProblem(spaced, 400, 'malformed_json');
      // A UTF-8 byte order mark is dropped, as express.json drops it.
      const marked = await beat(agent, { body: `\ufeff \n${JSON.stringify(HEARTBEAT)}`, headers });
      expect(marked.status).toBe(200);
      const invalid = await beat(agent, {
        body: JSON.stringify({ ...HEARTBEAT, uptime_seconds: -1 }),
        headers,
      });
      await expectProblem(invalid, 400, 'validation_failed');
    }
    const invalid = await beat(agent, { body: JSON.stringify({ ...HEARTBEAT, status: 'sleepy' }) });
    const problem = (await invalid.json()) as { errors: { path: string }[] };
    expect(problem.errors.map((error) => error.path)).toEqual(['/body/status']);
  });

  it('leaves refused tokens to Express, which counts them against the address', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    const refused = await beat({
      ...agent,
      credentials: { ...agent.credentials, access_token: 'mat_made-up' },
    });
    await expectProblem(refused, 401, 'invalid_token');
    expect(refused.headers.get('ratelimit-limit')).toBe(String(BUDGET));
    expect(linesOf(refused)).toEqual([
      expect.objectContaining({ status: 401, operation_id: 'sendAgentHeartbeat' }),
    ]);
  });

  it("answers 429 once the device's budget is spent, with Retry-After", async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    const statuses: number[] = [];
    for (let n = 0; n <= BUDGET; n++) statuses.push((await beat(agent)).status);
    expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(BUDGET);
    const spent = await beat(agent);
    await expectProblem(spent, 429, 'rate_limited');
    expect(Number(spent.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(spent.headers.get('ratelimit-remaining')).toBe('0');
  });
});

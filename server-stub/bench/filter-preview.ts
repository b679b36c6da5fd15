/**
 * `npm run bench:filters`: a device filter preview over a fleet of 100,000 devices against the
 * unfiltered first page of the device list, both measured in this run on the same server, started
 * as deployed (spawnBenchServer: its own process, NODE_ENV=production, a SQLite file). The fleet is
 * written straight into that file before the server starts (seed-fleet.ts). Requests are sent one
 * at a time, alternating between the two, after a warm-up; the p99 ratio is the figure to watch (goal <= 3).
 *
 *   npm run bench:filters -- --devices 100000 --requests 300
 */
import { parseArgs } from 'node:util';
import { percentile, spawnFleetServer } from './seed-fleet';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '100000' },
    requests: { type: 'string', default: '300' },
  },
});
const deviceCount = Number(values.devices);
const requestCount = Number(values.requests);

/** A filter an operator would write: Windows kiosks of one site on an old agent, quiet for a day. */
const filterOf = (siteId: string) => ({
  and: [
    { field: 'site_id', op: 'eq', value: siteId },
    { field: 'platform', op: 'eq', value: 'windows' },
    { field: 'tags', op: 'has', value: 'kiosk' },
    { field: 'agent_version', op: 'lt', value: '2.4.0' },
    { not: { field: 'last_seen_at', op: 'within_minutes', value: 1440 } },
  ],
});

const server = await spawnFleetServer(deviceCount);
const { siteIds } = server;
try {
  const { token } = await fetch(`${server.url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'bench', password: 'bench-password-123' }),
  }).then((response) => response.json() as Promise<{ token: string }>);
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const previewBody = JSON.stringify({ expression: filterOf(siteIds[0]!), limit: 50 });
  const calls = {
    list: () => fetch(`${server.url}/v1/devices?limit=50`, { headers }),
    preview: () =>
      fetch(`${server.url}/v1/device-filters/preview`, { method: 'POST', headers, body: previewBody }),
  };
  const timed = async (call: () => Promise<Response>): Promise<number> => {
    const started = performance.now();
    const response = await call();
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return performance.now() - started;
  };
  const matched = (await (await calls.preview()).json()) as { count: number };
  for (let i = 0; i < 30; i++) {
    await timed(calls.list);
    await timed(calls.preview);
  }
  const samples = { list: [] as number[], preview: [] as number[] };
  for (let i = 0; i < requestCount; i++) {
    samples.list.push(await timed(calls.list));
    samples.preview.push(await timed(calls.preview));
  }
  const report = (name: string, times: number[]) => {
    const sorted = [...times].sort((a, b) => a - b);
    console.log(
      `  ${name.padEnd(28)} p50 ${percentile(sorted, 50).toFixed(2).padStart(7)} ms  p99 ${percentile(sorted, 99).toFixed(2).padStart(7)} ms`,
    );
    return percentile(sorted, 99);
  };
  console.log(
    `\n${requestCount} requests each, one at a time, ${deviceCount} devices (the filter matches ${matched.count}):`,
  );
  const list = report('GET /v1/devices (first page)', samples.list);
  const preview = report('POST /v1/device-filters/preview', samples.preview);
  const median = (times: number[]) =>
    percentile(
      [...times].sort((a, b) => a - b),
      50,
    );
  console.log(`\n  p99 ratio preview / list: ${(preview / list).toFixed(2)} (goal <= 3)`);
  console.log(`  p50 ratio preview / list: ${(median(samples.preview) / median(samples.list)).toFixed(2)}`);
} finally {
  await server.close();
}

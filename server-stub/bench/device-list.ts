/**
 * `npm run bench:devices`: the device list over a fleet of 100,000 devices, against `GET /health`
 * measured in the same run on the same server, started as deployed (spawnBenchServer: its own
 * process, NODE_ENV=production, a SQLite file). The fleet is written straight into that file
 * before the server starts (seed-fleet.ts). Requests go one at a time, in rounds that take each
 * page in turn (so a slow moment of this shared machine hits them all alike), after a warm-up,
 * with 20 API tokens in turn (the rate limit counts each caller's requests).
 *
 * Goals (the process exits with 1 when one is missed): every filtered page's p99 at most 3× the
 * p99 of /health, and a page deep in a sorted list (90% of the way through, reached by following
 * next_cursor) no slower than that list's first page (p50 within 10%, for noise).
 *
 *   npm run bench:devices -- --devices 100000 --rounds 300
 */
import { parseArgs } from 'node:util';
import { percentile, readTokens, spawnFleetServer } from './seed-fleet';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '300' },
  },
});
const deviceCount = Number(values.devices);
const rounds = Number(values.rounds);
const P99_GOAL = 3;
const DEEP_GOAL = 1.1;

const server = await spawnFleetServer(deviceCount);
const { siteIds } = server;
let failed = false;
try {
  const tokens = await readTokens(server.operator, 20);
  let calls = 0;
  const get = async (path: string) => {
    const headers = { authorization: `Bearer ${tokens[calls++ % tokens.length]}` };
    const response = await fetch(`${server.url}${path}`, { headers });
    if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status} ${await response.text()}`);
    return response;
  };

  /** The cursor `fraction` of the way through a list, following next_cursor 500 at a time. */
  const cursorAt = async (list: string, fraction: number) => {
    let cursor: string | null = null;
    for (let seen = 500; seen <= deviceCount * fraction; seen += 500) {
      const page = (await (
        await get(`${list}&limit=500${cursor === null ? '' : `&cursor=${cursor}`}`)
      ).json()) as { next_cursor: string | null };
      cursor = page.next_cursor;
    }
    return cursor!;
  };
  const sorted = '/v1/devices?sort=-last_seen_at';
  const deepCursor = await cursorAt(sorted, 0.9);

  const pages = {
    health: '/health',
    'site_id=': `/v1/devices?site_id=${siteIds[7]}&limit=50`,
    'status=degraded': '/v1/devices?status=degraded&limit=50',
    'q=4242 (a few dozen matches)': '/v1/devices?q=4242&limit=50',
    'q=device-1 (one in nine)': '/v1/devices?q=device-1&limit=50',
    'q=42 (two characters)': '/v1/devices?q=42&limit=50',
    'site_id=, sort=name': `/v1/devices?site_id=${siteIds[7]}&sort=name&limit=50`,
    'status=online, sort=-last_seen_at': '/v1/devices?status=online&sort=-last_seen_at&limit=50',
    'sort=-last_seen_at, first page': `${sorted}&limit=50`,
    'sort=-last_seen_at, 90% deep': `${sorted}&limit=50&cursor=${deepCursor}`,
  };
  const samples = Object.fromEntries(Object.keys(pages).map((name) => [name, [] as number[]]));
  const timed = async (path: string) => {
    const started = performance.now();
    await (await get(path)).arrayBuffer();
    return performance.now() - started;
  };
  for (let round = -30; round < rounds; round++)
    for (const [name, path] of Object.entries(pages)) {
      const time = await timed(path);
      if (round >= 0) samples[name]!.push(time);
    }

  const stats = (name: string) => {
    const times = [...samples[name]!].sort((a, b) => a - b);
    return { p50: percentile(times, 50), p99: percentile(times, 99) };
  };
  const health = stats('health');
  console.log(`\n${rounds} rounds, one request at a time, ${deviceCount} devices, 50 a page:`);
  for (const name of Object.keys(pages)) {
    const { p50, p99 } = stats(name);
    const ratio = p99 / health.p99;
    const miss = name !== 'health' && ratio > P99_GOAL;
    failed ||= miss;
    console.log(
      `  ${name.padEnd(36)} p50 ${p50.toFixed(2).padStart(6)} ms  p99 ${p99.toFixed(2).padStart(6)} ms` +
        (name === 'health'
          ? ''
          : `  p99 / health ${ratio.toFixed(2)}${miss ? `  MISSED (goal <= ${P99_GOAL})` : ''}`),
    );
  }
  const deep = stats('sort=-last_seen_at, 90% deep').p50 / stats('sort=-last_seen_at, first page').p50;
  failed ||= deep > DEEP_GOAL;
  console.log(
    `\n  deep / first page p50: ${deep.toFixed(2)} (goal <= ${DEEP_GOAL})${deep > DEEP_GOAL ? '  MISSED' : ''}`,
  );
} finally {
  await server.close();
}
process.exitCode = failed ? 1 : 0;

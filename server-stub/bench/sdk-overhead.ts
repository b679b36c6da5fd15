/**
 * `npm run bench:sdk`: what the SDK adds to a request. The same GETs (a page of 50 devices, a
 * device, a site, the version) through the SDK's `Meridian` client and through bare `fetch`
 * (same headers, the JSON body parsed), from this one process against one server started as
 * deployed (spawnBenchServer: its own process, NODE_ENV=production, a SQLite file). Requests go
 * one at a time in rounds: each round sends every GET once each way, which way first alternating,
 * so a slow moment of this shared machine hits both alike, and each round is another caller (40
 * API tokens in turn: the rate limit counts each caller's requests). The figure is the median,
 * over every round and GET, of the SDK's time over bare fetch's in that round (the two requests
 * sent one after the other see the same load); the process exits with 1 above 1.05.
 *
 *   npm run bench:sdk -- --rounds 600
 */
import { parseArgs } from 'node:util';
import { Meridian } from '@meridian/sdk';
import { spawnBenchServer } from './bench-server';
import { percentile, readTokens } from './seed-fleet';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '600' } } });
const rounds = Number(values.rounds);
const GOAL = 1.05;

const server = await spawnBenchServer();
let failed = false;
try {
  const { operator, siteId, url } = server;
  const devices = [];
  for (let i = 0; i < 50; i++)
    devices.push(
      (await operator.devices.register({ name: `bench-${i}`, site_id: siteId, platform: 'linux' })).device,
    );
  const deviceId = devices[25]!.id;
  // Each round as another caller, the same one both ways.
  const callers = (await readTokens(operator, 40)).map((token) => ({
    sdk: new Meridian({ baseUrl: url, token }),
    headers: { Accept: 'application/json', Authorization: `Bearer ${token}` },
  }));
  let caller = callers[0]!;
  const get = async (path: string) => {
    const response = await fetch(`${url}${path}`, { headers: caller.headers });
    if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status}`);
    return response.json() as Promise<unknown>;
  };
  const gets: Record<string, { sdk: () => Promise<unknown>; fetch: () => Promise<unknown> }> = {
    'list 50 devices': {
      sdk: () => caller.sdk.devices.list({ limit: 50 }),
      fetch: () => get('/v1/devices?limit=50'),
    },
    'get a device': {
      sdk: () => caller.sdk.devices.get(deviceId),
      fetch: () => get(`/v1/devices/${deviceId}`),
    },
    'get a site': { sdk: () => caller.sdk.sites.get(siteId), fetch: () => get(`/v1/sites/${siteId}`) },
    'get the version': { sdk: () => caller.sdk.meta.getVersion(), fetch: () => get('/v1/version') },
  };
  /** Per GET, each round's SDK time over its bare fetch time (the two sent one after the other). */
  const ratios = Object.fromEntries(Object.keys(gets).map((name) => [name, [] as number[]]));
  const timed = async (call: () => Promise<unknown>) => {
    const started = performance.now();
    await call();
    return performance.now() - started;
  };
  for (let round = -100; round < rounds; round++) {
    caller = callers[(round + 100) % callers.length]!;
    for (const [name, calls] of Object.entries(gets)) {
      const times = { sdk: 0, fetch: 0 };
      const order = round % 2 === 0 ? (['sdk', 'fetch'] as const) : (['fetch', 'sdk'] as const);
      for (const way of order) times[way] = await timed(calls[way]);
      if (round >= 0) ratios[name]!.push(times.sdk / times.fetch);
    }
  }

  const median = (values: number[]) =>
    percentile(
      [...values].sort((a, b) => a - b),
      50,
    );
  console.log(`\n${rounds} rounds, one request at a time; SDK time / bare fetch time, median of the rounds:`);
  for (const [name, values] of Object.entries(ratios))
    console.log(`  ${name.padEnd(18)} ${median(values).toFixed(3)}`);
  const ratio = median(Object.values(ratios).flat());
  failed = ratio > GOAL;
  console.log(`\n  all GETs: ${ratio.toFixed(3)} (goal <= ${GOAL})${failed ? '  MISSED' : ''}`);
} finally {
  await server.close();
}
process.exitCode = failed ? 1 : 0;

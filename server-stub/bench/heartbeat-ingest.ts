/**
 * `npm run bench:heartbeat`: heartbeat ingest as deployed. Three processes besides this one: the
 * Meridian server started as in production (spawnBenchServer: `npm start`'s entry point,
 * NODE_ENV=production, a SQLite file, the default rate limit) with N devices enrolled, a bare
 * Express app that only parses the JSON and answers (bare-echo.ts, the floor any Express service
 * pays), and the load generator (heartbeat-load.ts: autocannon, POST /v1/agent/heartbeat with a
 * realistic body, each request with the next device's token). Each round loads the baseline and
 * then Meridian the same way; the ratio of their requests per second is what to watch. Prints every
 * round and the median ratio, and exits non-zero when that is below the goal (0.5) or a heartbeat
 * failed.
 *
 *   npm run bench:heartbeat -- --seconds 5 --connections 10 --devices 200 --rounds 3
 *
 * With the default rate limit (1,200 requests a minute per device), devices × 1,200 bounds the
 * heartbeats a minute the load may send: the default 200 devices leave room for 4,000 a second.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MeridianAgent } from '@meridian/sdk';
import { cpuMs, spawnBenchServer, spawnTsx } from './bench-server';

const GOAL = 0.5;
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '10' },
    devices: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '3' },
  },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const deviceCount = Number(values.devices);
const rounds = Number(values.rounds);

interface Result {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  failed: number;
  /** The server's CPU time per request, in microseconds: unlike the rate, it hardly moves with the machine's load. */
  cpuPerRequest: number;
}

const directory = mkdtempSync(join(tmpdir(), 'meridian-bench-heartbeat-'));
/** Loads the server at `url` (process `pid`) from a load generator of its own, sending the tokens in `tokensFile` in turn. */
async function load(url: string, pid: number, tokensFile: string, duration = seconds): Promise<Result> {
  const cpuBefore = cpuMs(pid);
  const generator = spawnTsx(new URL('./heartbeat-load.ts', import.meta.url), [
    url,
    tokensFile,
    String(connections),
    String(duration),
  ]);
  const [line] = await generator.printed(/^\{.*\}$/m);
  await generator.exited;
  const result = JSON.parse(line) as Omit<Result, 'cpuPerRequest'>;
  const cpuPerRequest = ((cpuMs(pid) - cpuBefore) * 1000) / (result.requestsPerSecond * duration);
  return { ...result, cpuPerRequest };
}

const bare = spawnTsx(new URL('./bare-echo.ts', import.meta.url));
const bareUrl = `http://127.0.0.1:${(await bare.printed(/LISTENING (\d+)/))[1]}`;
const meridian = await spawnBenchServer();
const { code } = await meridian.operator.enrollmentCodes.create(meridian.siteId, {
  auto_approve: true,
  max_uses: deviceCount,
});
const tokens: string[] = [];
for (let n = 0; n < deviceCount; n++) {
  const credentials = await new MeridianAgent({ baseUrl: meridian.url }).enroll({
    code,
    fingerprint: `bench:device-${n}`,
    facts: { hostname: `bench-${n}`, platform: 'linux', agent_version: '2.4.1' },
  });
  tokens.push(credentials.access_token);
}
const tokensFile = join(directory, 'tokens.json');
writeFileSync(tokensFile, JSON.stringify(tokens));
const unusedTokenFile = join(directory, 'unused.json');
writeFileSync(unusedTokenFile, JSON.stringify(['unused']));

console.log(
  `heartbeat ingest: ${connections} connections, ${seconds} s a load, ${deviceCount} devices, ${rounds} rounds (node ${process.version})`,
);
const row = (name: string, result: Result) =>
  `    ${name.padEnd(13)}${result.requestsPerSecond.toFixed(0).padStart(7)} req/s  p50 ${result.p50} ms  p99 ${result.p99} ms  server CPU ${result.cpuPerRequest.toFixed(0)} µs/req  failed ${result.failed}  (load ${loadavg()[0]!.toFixed(1)})`;
// Warm both up (JIT, the SQLite page cache) before anything is counted.
await load(bareUrl, bare.pid, unusedTokenFile, 1);
await load(meridian.url, meridian.pid, tokensFile, 1);
const ratios: number[] = [];
let failed = 0;
for (let round = 1; round <= rounds; round++) {
  const floor = await load(bareUrl, bare.pid, unusedTokenFile);
  const measured = await load(meridian.url, meridian.pid, tokensFile);
  const ratio = measured.requestsPerSecond / floor.requestsPerSecond;
  ratios.push(ratio);
  failed += floor.failed + measured.failed;
  console.log(`  round ${round}: ratio ${ratio.toFixed(3)}`);
  console.log(row('bare express', floor));
  console.log(row('meridian', measured));
}
ratios.sort((a, b) => a - b);
const median = ratios[Math.floor(ratios.length / 2)]!;
console.log(
  `  ratio          ${median.toFixed(3)} median (${ratios[0]!.toFixed(3)}–${ratios.at(-1)!.toFixed(3)}; meridian / bare express; goal ≥ ${GOAL})`,
);

await bare.stop();
await meridian.close();
rmSync(directory, { recursive: true, force: true });
if (failed > 0) {
  console.error('some heartbeats failed: the figures above are not comparable');
  process.exit(1);
}
if (median < GOAL) {
  console.error(`below the goal of ${GOAL}×`);
  process.exit(1);
}

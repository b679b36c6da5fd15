/**
 * `npm run bench:webhooks`: webhook fan-out. Meridian started as it is deployed (`npm start`'s
 * entry point in a process of its own, NODE_ENV=production, a SQLite file) with 5 endpoints on one
 * real node:http receiver in this process, and two ways for N events to happen:
 *
 * - **A site goes dark** (the figure with the goal): N devices enrolled and seen stop sending
 *   heartbeats, and one offline sweep turns them all offline: N `device.offline` events, written
 *   with their N × 5 signed deliveries (the outbox), which the worker delivers. Timed from the
 *   first delivery received to the last.
 * - **Raised through the API**: N events raised through `POST /v1/events/simulate` (10 at a time),
 *   timed from the first event raised to the last delivery received. Printed beside: this is bound
 *   by the cost of N API requests more than by the delivery.
 *
 * The baseline: the deliveries of the first (bodies and webhook headers as received) POSTed again
 * by plain node:http, keep-alive, as many at a time as the worker sends (`DELIVERY_CONCURRENCY`),
 * from a process of its own too, to the same receiver, in this run, on this machine. Deliveries per
 * second of each and their ratio (goal ≥ 0.5×); fails if a delivery is missing (each endpoint must
 * see every webhook-id) or came twice. The machine's load average is printed beside each figure:
 * the ratio only means something on a machine that is otherwise idle.
 *
 *   npm run bench:webhooks -- --events 1000 --endpoints 5
 *
 * The server keeps its default rate limit (1,200 requests a minute per caller): more than about
 * 1,150 events are refused with 429.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DELIVERY_CONCURRENCY } from '../src/integrate/webhook-deliveries';
import { MeridianAgent } from '@meridian/sdk';
import { cpuMs, spawnBenchServer } from './bench-server';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000' },
    endpoints: { type: 'string', default: '5' },
  },
});
const eventCount = Number(values.events);
const endpointCount = Number(values.endpoints);
const total = eventCount * endpointCount;
/** Events raised at once through the API. */
const RAISERS = 10;
/** The request headers the baseline sends again as they were received. */
const REPLAYED_HEADERS = [
  'content-type',
  'user-agent',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
];

interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  /** performance.now() when it was answered. */
  at: number;
  /** The event's type and device. */
  type: string;
  deviceId: string | undefined;
}

// The receiver: answers 200 to every POST and keeps what arrived; `waitUntil` resolves when its
// condition on what arrived holds.
let received: Received[] = [];
/** How many `device.offline` deliveries arrived. */
let offline = 0;
let waiting: { done: () => boolean; resolve: () => void } | undefined;
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const event = JSON.parse(body) as { type: string; data: { device_id?: string } };
    if (event.type === 'device.offline') offline++;
    received.push({
      path: req.url ?? '',
      headers: Object.fromEntries(
        REPLAYED_HEADERS.filter((name) => req.headers[name] !== undefined).map((name) => [
          name,
          String(req.headers[name]),
        ]),
      ),
      body,
      at: performance.now(),
      type: event.type,
      deviceId: event.data.device_id,
    });
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    if (waiting?.done()) waiting.resolve();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
/** Resolves when `done()` holds, or after `timeoutMs` (what is missing then counts as lost). */
const waitUntil = (done: () => boolean, timeoutMs = 60_000) =>
  Promise.race([
    done() ? Promise.resolve() : new Promise<void>((resolve) => (waiting = { done, resolve })),
    new Promise((resolve) => setTimeout(resolve, timeoutMs).unref()),
  ]);

/** Runs `work` for 0..n-1 with `width` at a time. */
async function pool(n: number, width: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await work(next++);
    }),
  );
}

const load = () => `load ${loadavg()[0]!.toFixed(1)}`;
const rate = (count: number, ms: number) => (count / (ms / 1000)).toFixed(0).padStart(7);

/** Every endpoint received every event once: how many are missing, per endpoint, and how many came twice. */
function check(deliveries: Received[]): { lost: number[]; duplicates: number } {
  const perEndpoint = new Map<string, Set<string>>();
  for (const { path, headers } of deliveries) {
    const ids = perEndpoint.get(path) ?? new Set<string>();
    ids.add(headers['webhook-id'] ?? '');
    perEndpoint.set(path, ids);
  }
  const lost = [...Array(endpointCount).keys()].map(
    (n) => eventCount - (perEndpoint.get(`/endpoint-${n}`)?.size ?? 0),
  );
  const unique = [...perEndpoint.values()].reduce((sum, ids) => sum + ids.size, 0);
  return { lost, duplicates: deliveries.length - unique };
}

/** A Meridian server as deployed, with `endpointCount` endpoints on the receiver for `eventTypes`. */
async function meridianWithEndpoints(eventTypes: string[], env: Record<string, string> = {}) {
  const meridian = await spawnBenchServer({ MERIDIAN_WEBHOOKS_ALLOW_PRIVATE: 'true', ...env });
  for (let n = 0; n < endpointCount; n++)
    await meridian.operator.webhookEndpoints.create({
      url: `${receiverUrl}/endpoint-${n}`,
      description: `bench ${n}`,
      event_types: eventTypes,
    });
  return meridian;
}

console.log(
  `webhook fan-out: ${eventCount} events to ${endpointCount} endpoints = ${total} deliveries (node ${process.version}, ${load()})`,
);

// A site goes dark. The devices enrol (they stay `pending` until their first heartbeat), then a
// canary device is seen, and its going offline shows when a sweep ran: the devices are seen at once
// after it, and the next sweep (30 s later) finds them all silent for longer than 5 s. The
// endpoints take `device.offline` only, so nothing else is being delivered meanwhile.
const OFFLINE_AFTER_SECONDS = 5;
const dark = await meridianWithEndpoints(['device.offline'], {
  MERIDIAN_HEARTBEAT_INTERVAL_SECONDS: String(OFFLINE_AFTER_SECONDS),
  MERIDIAN_OFFLINE_AFTER_SECONDS: String(OFFLINE_AFTER_SECONDS),
});
const { code } = await dark.operator.enrollmentCodes.create(dark.siteId, {
  auto_approve: true,
  max_uses: eventCount + 1,
});
const agents: MeridianAgent[] = [];
await pool(eventCount + 1, RAISERS, async (n) => {
  const agent = new MeridianAgent({ baseUrl: dark.url });
  await agent.enroll({
    code,
    fingerprint: `bench:device-${n}`,
    facts: { hostname: `bench-${n}`, platform: 'linux', agent_version: '2.4.1' },
  });
  agents[n] = agent;
});
const heartbeat = (agent: MeridianAgent) =>
  agent.heartbeat({ status: 'ok', agent_version: '2.4.1', uptime_seconds: 60 });
const canary = agents.pop()!;
await heartbeat(canary);
// Only the canary can go offline yet: the others are pending.
await waitUntil(() => offline >= endpointCount, 90_000);
await pool(eventCount, RAISERS, (n) => heartbeat(agents[n]!).then(() => undefined));
const fleet = new Set(agents.map((agent) => agent.deviceId!));
const darkCpuBefore = cpuMs(dark.pid);
await waitUntil(() => offline >= endpointCount + total, 90_000);
const sweep = received.filter(({ type, deviceId }) => type === 'device.offline' && fleet.has(deviceId ?? ''));
// On a busy machine the heartbeats may take longer than a sweep interval, and the devices go
// offline in two sweeps: each sweep's deliveries are timed from their first to their last.
const sweeps: Received[][] = [];
for (const delivery of sweep) {
  const last = sweeps.at(-1)?.at(-1);
  if (last && delivery.at - last.at < 5000) sweeps.at(-1)!.push(delivery);
  else sweeps.push([delivery]);
}
const sweepMs = sweeps.reduce((sum, part) => sum + (part.at(-1)!.at - part[0]!.at), 0);
const darkCpuMs = cpuMs(dark.pid) - darkCpuBefore;
const darkLoad = load();
const darkCheck = check(sweep);
await dark.close();

// Raised through the API, one event a request.
received = [];
const raised = await meridianWithEndpoints(['device.offline']);
const raisedCpuBefore = cpuMs(raised.pid);
const started = performance.now();
await pool(eventCount, RAISERS, async (n) => {
  await raised.operator.events.simulate({
    type: 'device.offline',
    severity: 'warning',
    site_id: raised.siteId,
    message: `Bench event ${n}`,
    data: { n },
  });
});
const raisingMs = performance.now() - started;
await waitUntil(() => received.length >= total);
const raisedMs = performance.now() - started;
const raisedCpuMs = cpuMs(raised.pid) - raisedCpuBefore;
const raisedLoad = load();
const raisedCheck = check(received);
await raised.close();

// The baseline: the sweep's deliveries again, plain node:http POSTs from a process of their own.
received = [];
const directory = mkdtempSync(join(tmpdir(), 'meridian-bench-plain-'));
const requestsFile = join(directory, 'requests.json');
writeFileSync(
  requestsFile,
  JSON.stringify(sweep.map(({ path, headers, body }) => ({ url: `${receiverUrl}${path}`, headers, body }))),
);
const sender: ChildProcess = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    fileURLToPath(new URL('./plain-sender.ts', import.meta.url)),
    requestsFile,
    String(DELIVERY_CONCURRENCY),
  ],
  { stdio: ['pipe', 'pipe', 'inherit'] },
);
const senderExited = once(sender, 'close');
let senderOutput = '';
sender.stdout!.setEncoding('utf8').on('data', (chunk: string) => (senderOutput += chunk));
await once(sender.stdout!, 'data');
if (!senderOutput.startsWith('READY')) throw new Error(`the plain sender said ${senderOutput}`);
const baselineStarted = performance.now();
sender.stdin!.end('go\n');
await waitUntil(() => received.length >= sweep.length);
const baselineMs = performance.now() - baselineStarted;
const [senderCode] = (await senderExited) as [number | null];
rmSync(directory, { recursive: true, force: true });
receiver.close();
if (senderCode !== 0) throw new Error(`the plain sender failed (exit code ${senderCode})`);
const senderCpuMs = Number(/CPU (\d+)/.exec(senderOutput)?.[1]);

const baselineRate = sweep.length / baselineMs;
console.log(
  `  plain node:http        ${rate(sweep.length, baselineMs)} deliveries/s  (${baselineMs.toFixed(0)} ms, ${DELIVERY_CONCURRENCY} at a time, sender CPU ${senderCpuMs} ms, ${load()})`,
);
console.log(
  `  a site goes dark       ${rate(sweep.length, sweepMs)} deliveries/s  (${sweepMs.toFixed(0)} ms from the first delivery to the last${sweeps.length > 1 ? `, in ${sweeps.length} sweeps` : ''}, server CPU ${darkCpuMs.toFixed(0)} ms, ${darkLoad})`,
);
console.log(
  `  raised through the API ${rate(total, raisedMs)} deliveries/s  (${raisedMs.toFixed(0)} ms, events raised in ${raisingMs.toFixed(0)} ms, server CPU ${raisedCpuMs.toFixed(0)} ms, ${raisedLoad}; ratio ${(total / raisedMs / baselineRate).toFixed(3)})`,
);
const ratio = sweep.length / sweepMs / baselineRate;
console.log(`  ratio                  ${ratio.toFixed(3)} (a site goes dark / plain node:http; goal ≥ 0.5)`);
const lost = [...darkCheck.lost, ...raisedCheck.lost].reduce((a, b) => a + b, 0);
const duplicates = darkCheck.duplicates + raisedCheck.duplicates;
console.log(
  `  lost                   ${lost} (per endpoint: ${darkCheck.lost.join(', ')} going dark; ${raisedCheck.lost.join(', ')} raised), duplicates ${duplicates}`,
);
if (lost > 0 || duplicates > 0) {
  console.error('some deliveries never arrived or came twice');
  process.exit(1);
}
if (!(ratio >= 0.5)) {
  console.error('below the goal of 0.5×');
  process.exit(1);
}

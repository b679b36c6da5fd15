/**
 * `npm run bench:webhooks`: webhook fan-out. Meridian started as it is deployed (`npm start`'s
 * entry point in a process of its own, NODE_ENV=production, a SQLite file) with 5 endpoints on one
 * real node:http receiver in this process; N events raised through `POST /v1/events/simulate`
 * (10 at a time) become N × 5 signed deliveries (the outbox and the worker), timed from the first
 * event raised to the last delivery received. Then the baseline: the same requests (bodies and
 * webhook headers as received) POSTed by plain node:http, keep-alive, as many at a time as the
 * worker sends (`DELIVERY_CONCURRENCY`), from a process of its own too, to the same receiver, in
 * this run, on this machine. Deliveries per second of each and their ratio (goal ≥ 0.5×); fails if
 * a delivery is missing (each endpoint must see every webhook-id). The machine's load average is
 * printed beside each figure: the ratio only means something on a machine that is otherwise idle.
 *
 *   npm run bench:webhooks -- --events 1000 --endpoints 5
 *
 * The server keeps its default rate limit (1,200 requests a minute per principal): more than about
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
}

// The receiver: answers 200 to every POST and keeps what arrived; `waitFor` resolves at n requests.
let received: Received[] = [];
let waiting: { count: number; resolve: () => void } | undefined;
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    received.push({
      path: req.url ?? '',
      headers: Object.fromEntries(
        REPLAYED_HEADERS.filter((name) => req.headers[name] !== undefined).map((name) => [
          name,
          String(req.headers[name]),
        ]),
      ),
      body: Buffer.concat(chunks).toString('utf8'),
    });
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    if (waiting && received.length >= waiting.count) waiting.resolve();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
const waitFor = (count: number) =>
  received.length >= count
    ? Promise.resolve()
    : new Promise<void>((resolve) => (waiting = { count, resolve }));

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
const meridian = await spawnBenchServer({ MERIDIAN_WEBHOOKS_ALLOW_PRIVATE: 'true' });
const { operator, siteId } = meridian;
for (let n = 0; n < endpointCount; n++)
  await operator.webhookEndpoints.create({ url: `${receiverUrl}/endpoint-${n}`, description: `bench ${n}` });

console.log(
  `webhook fan-out: ${eventCount} events to ${endpointCount} endpoints = ${total} deliveries (node ${process.version}, ${load()})`,
);
// Meridian: from the first event raised to the last delivery received.
const serverCpuBefore = cpuMs(meridian.pid);
const benchCpuBefore = process.cpuUsage();
let started = performance.now();
await pool(eventCount, RAISERS, async (n) => {
  await operator.events.simulate({
    type: 'device.offline',
    severity: 'warning',
    site_id: siteId,
    message: `Bench event ${n}`,
    data: { n },
  });
});
const raisedMs = performance.now() - started;
const deliveredWhileRaising = received.length;
// Everything should arrive at once; a minute without is counted as lost below.
await Promise.race([waitFor(total), new Promise((resolve) => setTimeout(resolve, 60_000).unref())]);
const meridianMs = performance.now() - started;
const serverCpuMs = cpuMs(meridian.pid) - serverCpuBefore;
const benchCpu = process.cpuUsage(benchCpuBefore);
const benchCpuMs = (benchCpu.user + benchCpu.system) / 1000;
const meridianLoad = load();
const delivered = received;
const perEndpoint = new Map<string, Set<string>>();
for (const { path, headers } of delivered) {
  const ids = perEndpoint.get(path) ?? new Set<string>();
  ids.add(headers['webhook-id'] ?? '');
  perEndpoint.set(path, ids);
}
const lost = [...Array(endpointCount).keys()].map(
  (n) => eventCount - (perEndpoint.get(`/endpoint-${n}`)?.size ?? 0),
);
const duplicates = delivered.length - [...perEndpoint.values()].reduce((sum, ids) => sum + ids.size, 0);
await meridian.close();

// The baseline: the same requests, plain node:http POSTs from a process of its own to the same receiver.
received = [];
const directory = mkdtempSync(join(tmpdir(), 'meridian-bench-plain-'));
const requestsFile = join(directory, 'requests.json');
writeFileSync(
  requestsFile,
  JSON.stringify(
    delivered.map(({ path, headers, body }) => ({ url: `${receiverUrl}${path}`, headers, body })),
  ),
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
started = performance.now();
sender.stdin!.end('go\n');
await waitFor(delivered.length);
const baselineMs = performance.now() - started;
const [senderCode] = (await senderExited) as [number | null];
rmSync(directory, { recursive: true, force: true });
receiver.close();
if (senderCode !== 0) throw new Error(`the plain sender failed (exit code ${senderCode})`);
const senderCpuMs = Number(/CPU (\d+)/.exec(senderOutput)?.[1]);

const rate = (count: number, ms: number) => (count / (ms / 1000)).toFixed(0).padStart(7);
console.log(
  `  plain node:http ${rate(delivered.length, baselineMs)} deliveries/s  (${baselineMs.toFixed(0)} ms, ${DELIVERY_CONCURRENCY} at a time, sender CPU ${senderCpuMs} ms, ${load()})`,
);
console.log(
  `  meridian        ${rate(total, meridianMs)} deliveries/s  (${meridianMs.toFixed(0)} ms, events raised in ${raisedMs.toFixed(0)} ms, server CPU ${serverCpuMs.toFixed(0)} ms, raising client and receiver CPU ${benchCpuMs.toFixed(0)} ms, ${meridianLoad})`,
);
const drainMs = meridianMs - raisedMs;
const drained = total - deliveredWhileRaising;
console.log(
  `    after the last event was raised: ${rate(drained, drainMs)} deliveries/s (${drained} deliveries, ratio ${((drained / drainMs) * (baselineMs / delivered.length)).toFixed(3)})`,
);
console.log(
  `  ratio           ${(baselineMs / meridianMs).toFixed(3)} (meridian / plain node:http; goal ≥ 0.5)`,
);
console.log(
  `  lost            ${lost.reduce((a, b) => a + b, 0)} (per endpoint: ${lost.join(', ')}), duplicates ${duplicates}`,
);
if (lost.some((count) => count !== 0)) {
  console.error('some deliveries never arrived');
  process.exit(1);
}

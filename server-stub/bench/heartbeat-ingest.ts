/**
 * `npm run bench:heartbeat`: heartbeat ingest. The same load (autocannon, POST /v1/agent/heartbeat with
 * a realistic body, several connections) against a bare Express app that only parses the JSON
 * and answers — the floor any Express service pays — and then against Meridian with N enrolled
 * devices (auth, validation, a database write per heartbeat, events when a device comes
 * online). Both are measured in this run, on this machine; the ratio is what to watch.
 *
 *   npm run bench:heartbeat -- --seconds 10 --connections 20 --devices 50
 */
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import express from 'express';
import { MeridianAgent } from '@meridian/sdk';
import { startBenchServer } from './bench-server';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '10' },
    devices: { type: 'string', default: '50' },
  },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const deviceCount = Number(values.devices);

const HEARTBEAT = JSON.stringify({
  status: 'ok',
  agent_version: '2.4.1',
  uptime_seconds: 86_400,
  hostname: 'LIS-KIOSK-02',
  addresses: ['192.168.10.24'],
  metrics: { cpu_percent: 12.5, memory_percent: 48.1, disk_percent: 71.0 },
});

interface Result {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
}

async function load(url: string, tokens: string[]): Promise<Result> {
  let next = 0;
  const result = await autocannon({
    url: `${url}/v1/agent/heartbeat`,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json' },
    body: HEARTBEAT,
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          headers: { ...request.headers, authorization: `Bearer ${tokens[next++ % tokens.length]}` },
        }),
      },
    ],
  });
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx + result.errors,
  };
}

function listen(app: express.Express): Promise<{ url: string; server: Server }> {
  const server = createServer(app);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }),
    ),
  );
}

// The floor: Express parsing the same body and answering with an acknowledgement of the same shape.
const bare = express();
bare.use(express.json({ limit: '100kb' }));
bare.post('/v1/agent/heartbeat', (req, res) => {
  res.json({
    device_id: 'dev_01JD2M7T4X9K3QH5W8N6R2B4CZ',
    status: 'online',
    next_heartbeat_seconds: 60,
    pending_commands: 0,
    server_time: new Date().toISOString(),
    echo: Object.keys(req.body as object).length,
  });
});
const baseline = await listen(bare);

const { meridian, operator, siteId } = await startBenchServer();
const { code } = await operator.enrollmentCodes.create(siteId, {
  auto_approve: true,
  max_uses: deviceCount,
});
const tokens = await Promise.all(
  Array.from({ length: deviceCount }, async (_, n) => {
    const agent = new MeridianAgent({ baseUrl: meridian.url });
    const credentials = await agent.enroll({
      code,
      fingerprint: `bench:device-${n}`,
      facts: { hostname: `bench-${n}`, platform: 'linux', agent_version: '2.4.1' },
    });
    return credentials.access_token;
  }),
);

console.log(
  `heartbeat ingest: ${connections} connections, ${seconds} s each, ${deviceCount} devices (node ${process.version})`,
);
const floor = await load(baseline.url, ['unused']);
console.log(
  `  bare express   ${floor.requestsPerSecond.toFixed(0).padStart(7)} req/s  p50 ${floor.p50} ms  p99 ${floor.p99} ms`,
);
const measured = await load(meridian.url, tokens);
console.log(
  `  meridian       ${measured.requestsPerSecond.toFixed(0).padStart(7)} req/s  p50 ${measured.p50} ms  p99 ${measured.p99} ms  non-2xx ${measured.non2xx}`,
);
console.log(
  `  ratio          ${(measured.requestsPerSecond / floor.requestsPerSecond).toFixed(3)} (meridian / bare express)`,
);

baseline.server.close();
await meridian.close();
if (measured.non2xx > 0 || floor.non2xx > 0) {
  console.error('some heartbeats failed: the figures above are not comparable');
  process.exit(1);
}

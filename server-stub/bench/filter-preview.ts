/**
 * `npm run bench:filters`: a device filter preview over a fleet of 100,000 devices against the
 * unfiltered first page of the device list, both measured in this run on the same server, started
 * as deployed (spawnBenchServer: its own process, NODE_ENV=production, a SQLite file). The fleet is
 * written straight into that file before the server starts (through the server's own migrations
 * and Kysely, like rows the API writes), since registering 100,000 devices through the API would
 * time the seeding rather than the filter. Requests are sent one at a time, alternating between
 * the two, after a warm-up; the p99 ratio is the figure to watch (goal <= 3).
 *
 *   npm run bench:filters -- --devices 100000 --requests 300
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateToLatest, openDatabase } from '../src/store/database';
import { newId } from '../src/store/ids';
import { spawnBenchServer } from './bench-server';

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

async function seed(path: string): Promise<string[]> {
  const { db } = openDatabase(path);
  await migrateToLatest(db);
  const now = Date.now();
  const siteIds = Array.from({ length: 20 }, () => newId('site'));
  await db
    .insertInto('sites')
    .values(
      siteIds.map((id, index) => ({
        id,
        name: `Seeded site ${index}`,
        name_key: `seeded site ${index}`,
        description: '',
        auto_approve_until: null,
        created_at: new Date(now).toISOString(),
        updated_at: new Date(now).toISOString(),
      })),
    )
    .execute();
  const platforms = ['windows', 'linux', 'macos', 'other'] as const;
  const statuses = ['online', 'offline', 'degraded', 'pending'] as const;
  const tagSets = [['kiosk'], ['kiosk', 'floor:1'], ['pos'], [], ['lab', 'edge']];
  const versions = ['2.3.9', '2.4.1', '2.10.0', '1.9.7', '2.4.0'];
  for (let start = 0; start < deviceCount; start += 1000) {
    const rows = Array.from({ length: Math.min(1000, deviceCount - start) }, (_, offset) => {
      const n = start + offset;
      const created = new Date(now - (deviceCount - n) * 1000).toISOString();
      const seen = n % 4 === 3 ? null : new Date(now - (n % 97) * 3_600_000).toISOString();
      return {
        id: newId('dev'),
        site_id: siteIds[n % siteIds.length]!,
        name: `device-${n}`,
        description: '',
        platform: platforms[n % 4]!,
        device_type: 'workstation',
        status: statuses[(n >> 2) % 4]!,
        hostname: seen === null ? null : `host-${n}`,
        tags: JSON.stringify(tagSets[n % tagSets.length]),
        agent_version: seen === null ? null : versions[n % versions.length]!,
        last_seen_at: seen,
        registration_token_hash: null,
        registration_expires_at: null,
        fingerprint: null,
        os_name: seen === null ? null : 'Windows 11 Pro',
        os_version: seen === null ? null : '10.0.22631',
        timezone: null,
        addresses: '[]',
        uptime_seconds: null,
        metrics: null,
        enrolled_at: seen,
        credentials_revoked_at: null,
        created_at: created,
        updated_at: created,
      };
    });
    await db.insertInto('devices').values(rows).execute();
  }
  await db.destroy();
  return siteIds;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

const directory = mkdtempSync(join(tmpdir(), 'meridian-filter-bench-'));
const path = join(directory, 'fleet.sqlite');
const seedStart = performance.now();
const siteIds = await seed(path);
console.log(
  `seeded ${deviceCount} devices on ${siteIds.length} sites in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`,
);

const server = await spawnBenchServer({ MERIDIAN_DB: path });
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
  rmSync(directory, { recursive: true, force: true });
}

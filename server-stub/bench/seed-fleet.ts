/**
 * A large fleet written straight into a SQLite file before the server starts (through the
 * server's own migrations and Kysely, like rows the API writes): registering 100,000 devices
 * through the API would time the seeding rather than what a bench measures. Devices are spread
 * over 20 sites, four platforms and statuses, a few tag sets and agent versions; one in four was
 * never seen (no hostname, agent version or last_seen_at). Names are `device-<n>`, hostnames
 * `host-<n>`. Also what else benches share: callers and percentiles.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Meridian } from '@meridian/sdk';
import { migrateToLatest, openDatabase } from '../src/store/database';
import { newId } from '../src/store/ids';
import { type SpawnedBenchServer, spawnBenchServer } from './bench-server';

export async function seedFleet(path: string, deviceCount: number): Promise<string[]> {
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

/**
 * The server as deployed (spawnBenchServer) on a SQLite file seeded first with `deviceCount`
 * devices, the IDs of their sites; `close` also removes the file.
 */
export async function spawnFleetServer(
  deviceCount: number,
): Promise<SpawnedBenchServer & { siteIds: string[] }> {
  const directory = mkdtempSync(join(tmpdir(), 'meridian-fleet-bench-'));
  const remove = () => rmSync(directory, { recursive: true, force: true });
  const path = join(directory, 'fleet.sqlite');
  const started = performance.now();
  const siteIds = await seedFleet(path, deviceCount);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`seeded ${deviceCount} devices on ${siteIds.length} sites in ${seconds} s`);
  const server = await spawnBenchServer({ MERIDIAN_DB: path }).catch((error: unknown) => {
    remove();
    throw error;
  });
  return {
    ...server,
    siteIds,
    close: async () => {
      await server.close();
      remove();
    },
  };
}

/** The p-th percentile of ascending `sorted` times (nearest rank). */
export const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

/**
 * `count` API tokens of the operator that may read devices and sites. The API's rate limit counts
 * each caller's requests (1,200 a minute by default); a bench that sends more spreads them over
 * these tokens, like the many callers of a real deployment.
 */
export async function readTokens(operator: Meridian, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++)
    tokens.push(
      (await operator.apiTokens.create({ name: `bench-${i}`, scopes: ['devices:read', 'sites:read'] })).token,
    );
  return tokens;
}

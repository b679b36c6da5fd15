/** Read-only views of devices: fleet counts, metric history, inventory. Part of the Devices tag. */
import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { contract } from '../generated/contract.gen';
import { principalOf } from '../http/principal';
import { problems } from '../http/problem';
import { flushMetricSamples } from './metric-samples';
import { METRICS_RETENTION_MS } from './sweeps';
import { findVisibleDevice, selectDevices, toInventory } from './devices-store';

const s = initServer();

const HOUR = 60 * 60 * 1000;
const RANGES = {
  '1h': HOUR,
  '6h': 6 * HOUR,
  '24h': 24 * HOUR,
  '7d': 7 * 24 * HOUR,
  '30d': 30 * 24 * HOUR,
} as const;
const MAX_WINDOW_MS = 90 * 24 * HOUR;
const STATUSES = ['pending', 'online', 'offline', 'degraded'] as const;
const PLATFORMS = ['windows', 'macos', 'linux', 'other'] as const;

const count = <K extends string>(
  keys: readonly K[],
  rows: { key: string; n: unknown }[],
): Record<K, number> =>
  Object.fromEntries(keys.map((key) => [key, Number(rows.find((row) => row.key === key)?.n ?? 0)])) as Record<
    K,
    number
  >;

/** The window a metrics query asks for, or the 422 saying why it cannot be served. */
function metricsWindow(
  now: Date,
  query: { range?: keyof typeof RANGES | undefined; start?: string | undefined; end?: string | undefined },
): { start: number; end: number } {
  if (query.range !== undefined && (query.start !== undefined || query.end !== undefined)) {
    throw problems.unprocessable('ambiguous_window', 'Send either range, or start and end — not both.');
  }
  const end = query.end === undefined ? now.getTime() : Date.parse(query.end);
  const start = query.start === undefined ? end - RANGES[query.range ?? '24h'] : Date.parse(query.start);
  if (end <= start) throw problems.unprocessable('empty_window', 'end must be after start.');
  if (end - start > MAX_WINDOW_MS)
    throw problems.unprocessable('window_too_long', 'The window may span at most 90 days.');
  return { start, end };
}

export function deviceInsightRoutes(context: AppContext) {
  const { db } = context;

  return {
    getDeviceStats: s.route(contract.devices.getDeviceStats, async ({ query, req }) => {
      const devices = selectDevices(context, principalOf(req)).$if(query.site_id !== undefined, (qb) =>
        qb.where('site_id', '=', query.site_id!),
      );
      const grouped = (column: 'status' | 'platform') =>
        devices
          .clearSelect()
          .select((eb) => [eb.ref(column).as('key'), eb.fn.countAll().as('n')])
          .groupBy(column)
          .execute();
      const [byStatus, byPlatform, bySite] = await Promise.all([
        grouped('status'),
        grouped('platform'),
        devices
          .clearSelect()
          .select((eb) => [
            'site_id',
            eb.fn.countAll().as('total'),
            eb.fn
              .sum(eb.case().when('status', 'in', ['online', 'degraded']).then(1).else(0).end())
              .as('online'),
          ])
          .groupBy('site_id')
          .orderBy('site_id')
          .execute(),
      ]);
      const by_status = count(STATUSES, byStatus);
      return {
        status: 200,
        body: {
          total: STATUSES.reduce((sum, status) => sum + by_status[status], 0),
          by_status,
          by_platform: count(PLATFORMS, byPlatform),
          by_site: bySite.map((row) => ({
            site_id: row.site_id,
            total: Number(row.total),
            online: Number(row.online),
          })),
        },
      };
    }),

    getDeviceMetrics: s.route(contract.devices.getDeviceMetrics, async ({ params, query, req }) => {
      const device = await findVisibleDevice(context, principalOf(req), params.device_id);
      const { start, end } = metricsWindow(context.now(), query);
      const bucketMs = Math.max(1000, Math.ceil((end - start) / query.max_points / 1000) * 1000);
      await flushMetricSamples(context);
      const samples = await db
        .selectFrom('device_metrics')
        .select(['recorded_at', query.metric])
        .where('device_id', '=', device.id)
        .where(
          'recorded_at',
          '>=',
          new Date(Math.max(start, context.now().getTime() - METRICS_RETENTION_MS)).toISOString(),
        )
        .where('recorded_at', '<', new Date(end).toISOString())
        .orderBy('recorded_at')
        .execute();
      const buckets = new Map<number, { min: number; max: number; sum: number; samples: number }>();
      for (const sample of samples) {
        const value = Number(sample[query.metric]);
        const index = Math.floor((Date.parse(sample.recorded_at) - start) / bucketMs);
        const bucket = buckets.get(index);
        if (bucket) {
          bucket.min = Math.min(bucket.min, value);
          bucket.max = Math.max(bucket.max, value);
          bucket.sum += value;
          bucket.samples += 1;
        } else {
          buckets.set(index, { min: value, max: value, sum: value, samples: 1 });
        }
      }
      return {
        status: 200,
        body: {
          device_id: device.id,
          metric: query.metric,
          start: new Date(start).toISOString(),
          end: new Date(end).toISOString(),
          bucket_seconds: bucketMs / 1000,
          points: [...buckets.entries()].map(([index, bucket]) => ({
            start: new Date(start + index * bucketMs).toISOString(),
            min: bucket.min,
            max: bucket.max,
            avg: Math.round((bucket.sum / bucket.samples) * 100) / 100,
            samples: bucket.samples,
          })),
        },
      };
    }),

    getDeviceInventory: s.route(contract.devices.getDeviceInventory, async ({ params, req }) => {
      const device = await findVisibleDevice(context, principalOf(req), params.device_id);
      const row = await db
        .selectFrom('device_inventories')
        .selectAll()
        .where('device_id', '=', device.id)
        .executeTakeFirst();
      if (!row) throw problems.notReported('inventory_not_reported', device.id, 'reported an inventory');
      return { status: 200, body: toInventory(row) };
    }),
  };
}

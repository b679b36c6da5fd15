/**
 * Heartbeat metric samples, written in batches: a heartbeat adds its sample to this instance's
 * buffer, which is inserted in one statement at most `FLUSH_DELAY_MS` later (on the injectable
 * timers), as soon as it holds `FLUSH_SIZE` samples, and when the server closes. Whatever reads the
 * metric history on this instance (the metrics endpoint, alert evaluation) flushes first, so it
 * reads every sample received; another instance's unflushed samples reach the database within
 * `FLUSH_DELAY_MS`.
 */
import type { AppContext } from '../context';
import type { DeviceMetricsTable } from '../store/schema';

export const FLUSH_DELAY_MS = 1_000;
const FLUSH_SIZE = 500;

interface Buffer {
  samples: DeviceMetricsTable[];
  /** The flush under way: the next one starts after it, so a flush awaited covers every earlier sample. */
  flushing: Promise<void>;
  cancelTimer: (() => void) | undefined;
}

const buffers = new WeakMap<AppContext, Buffer>();

function bufferOf(context: AppContext): Buffer {
  let buffer = buffers.get(context);
  if (!buffer) {
    buffer = { samples: [], flushing: Promise.resolve(), cancelTimer: undefined };
    buffers.set(context, buffer);
  }
  return buffer;
}

async function insert(context: AppContext, samples: DeviceMetricsTable[]): Promise<void> {
  try {
    await context.db.insertInto('device_metrics').values(samples).execute();
  } catch {
    // A device deleted since its heartbeat fails the batch (foreign key): keep the others' samples.
    for (const sample of samples)
      await context.db
        .insertInto('device_metrics')
        .values(sample)
        .execute()
        .catch(() => undefined);
  }
}

/** Writes every sample buffered on this instance; resolves once they are in the database. */
export function flushMetricSamples(context: AppContext): Promise<void> {
  const buffer = bufferOf(context);
  buffer.cancelTimer?.();
  buffer.cancelTimer = undefined;
  const samples = buffer.samples.splice(0);
  buffer.flushing = buffer.flushing.then(() => (samples.length > 0 ? insert(context, samples) : undefined));
  return buffer.flushing;
}

/** Buffers a heartbeat's sample (see the top of this file). */
export function addMetricSample(context: AppContext, sample: DeviceMetricsTable): void {
  const buffer = bufferOf(context);
  buffer.samples.push(sample);
  if (buffer.samples.length >= FLUSH_SIZE) void flushMetricSamples(context);
  else
    buffer.cancelTimer ??= context.timers.set(
      FLUSH_DELAY_MS,
      () => flushMetricSamples(context),
      'metric-samples',
    );
}

import type { AppContext } from '../context';
import type { WorkerName } from '../http/metrics';

export interface Worker {
  /** Runs a pass now (after the one under way, if any) and resolves when it is done. */
  run(): Promise<void>;
  /** Stops the worker; resolves when the pass under way (if any) is done. */
  stop(): Promise<void>;
}

/**
 * Background work in passes: one when any of `topics` is signalled and one every `intervalMs`
 * on the context's timers (for retries), one pass at a time. Timer callbacks never wait for a
 * pass, since the work itself may wait on a timer (a timeout).
 */
export function startWorker(
  context: AppContext,
  name: WorkerName,
  options: { topics: readonly string[]; intervalMs: number; pass: () => Promise<unknown> },
): Worker {
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  const pass = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await context.metrics.pass(name, options.pass, (made) => (typeof made === 'number' ? made : 0));
        } catch (error) {
          context.log.error({ err: error, worker: name }, `background work failed: ${name}`);
        }
      } while (again && !stopped);
    })().finally(() => {
      running = null;
    });
    return running;
  };
  let cancel = (): void => undefined;
  const schedule = (): void => {
    if (stopped) return;
    cancel = context.timers.set(
      options.intervalMs,
      () => {
        void pass();
        schedule();
      },
      name,
    );
  };
  const unsubscribe = options.topics.map((topic) => context.signals.subscribe(topic, () => void pass()));
  schedule();
  return {
    run: pass,
    stop: async () => {
      stopped = true;
      cancel();
      for (const stop of unsubscribe) stop();
      await running;
    },
  };
}

/**
 * Timers the server schedules through its context instead of calling `setTimeout` directly, so
 * that tests can drive them with the same clock that answers `now()` (test/support/server.ts):
 * long-poll deadlines, `wait_seconds`, stream keep-alives and the background sweeps.
 */
export interface Timers {
  /**
   * Runs `callback` after `ms` milliseconds and returns a function that cancels it. `label`
   * names what waits (`agent-commands`, `sweep`, …), for tests that need to know a wait began.
   */
  set(ms: number, callback: () => unknown, label: string): () => void;
}

/** Real timers that never keep the process alive on their own. */
export const realTimers: Timers = {
  set(ms, callback) {
    const handle = setTimeout(() => void callback(), ms);
    handle.unref();
    return () => clearTimeout(handle);
  },
};

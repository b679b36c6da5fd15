/**
 * Wake-ups: code that waits for something (an agent long-polling for commands, an operator
 * waiting for a command to finish, an event stream, a background worker) subscribes to a topic,
 * and code that changes the database notifies the topic after the change is committed. Waiters
 * then re-read the database: a signal says "look again", it never carries the state itself.
 *
 * Local subscribers are woken at once. With several API instances on one PostgreSQL database,
 * every notification also goes to the other instances (runtime/shared-signals.ts: PostgreSQL
 * LISTEN/NOTIFY), which wake their own subscribers of the topic; when that channel was lost for
 * a while, every subscriber is woken once after it is back, since notifications may have been
 * missed. Long-polls and waits stay bounded either way.
 */
import type { Timers } from './timers';

type Listener = () => void;

export class Signals {
  readonly #listeners = new Map<string, Set<Listener>>();
  #publish: ((topic: string) => void) | undefined;

  /** Calls `listener` on every notification of `topic` until the returned function is called. */
  subscribe(topic: string, listener: Listener): () => void {
    let set = this.#listeners.get(topic);
    if (!set) {
      set = new Set();
      this.#listeners.set(topic, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(topic);
    };
  }

  /** Wakes the subscribers of `topic`, here and (once shared) on the other instances. */
  notify(topic: string): void {
    this.deliver(topic);
    this.#publish?.(topic);
  }

  /** Wakes the subscribers of `topic` on this instance only (a notification from another one). */
  deliver(topic: string): void {
    for (const listener of [...(this.#listeners.get(topic) ?? [])]) listener();
  }

  /** Wakes every subscriber on this instance once (after notifications may have been missed). */
  deliverAll(): void {
    for (const topic of [...this.#listeners.keys()]) this.deliver(topic);
  }

  /** From now on every `notify` is also handed to `publish`, which sends it to the other instances. */
  share(publish: (topic: string) => void): void {
    this.#publish = publish;
  }

  /**
   * Waits until `check` finds something or `ms` pass, re-checking after each notification of
   * `topic` and once more at the deadline. Subscribes before the first check, so a change made
   * between a check and the wait is never missed. When `signal` aborts (the client went away,
   * the server shuts down), even before the wait began, it stops without checking again. Returns the last result of `check` (possibly empty).
   */
  async waitFor<T>(
    topic: string,
    ms: number,
    timers: Timers,
    label: string,
    check: () => Promise<T>,
    found: (value: T) => boolean,
    signal?: AbortSignal,
  ): Promise<T> {
    let wake = new AbortController();
    const unsubscribe = this.subscribe(topic, () => wake.abort());
    const deadline = new AbortController();
    const cancelDeadline = timers.set(ms, () => deadline.abort(), label);
    const stop = (): void => deadline.abort();
    signal?.addEventListener('abort', stop, { once: true });
    if (signal?.aborted) stop();
    try {
      let value = await check();
      while (!found(value) && !deadline.signal.aborted) {
        if (!wake.signal.aborted) await Promise.race([aborted(wake.signal), aborted(deadline.signal)]);
        wake = new AbortController();
        if (signal?.aborted) break;
        value = await check();
      }
      return value;
    } finally {
      unsubscribe();
      cancelDeadline();
      signal?.removeEventListener('abort', stop);
    }
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) =>
    signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true }),
  );
}

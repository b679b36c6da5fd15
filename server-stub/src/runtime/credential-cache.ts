/**
 * A short-lived cache of verified credentials (agent access tokens, operator sessions and API
 * tokens), keyed by the hash of the presented secret, so that a busy caller is not looked up in
 * the database on every request.
 *
 * Bounds: at most `capacity` entries (the oldest goes first) and each one for `CREDENTIAL_CACHE_TTL_MS`
 * of the server's clock. On the instance where a credential is revoked, a session ends, a user is
 * disabled, changes role or sites, or a device is deleted or moved, the code that made the change
 * (once it is committed) forgets the entries concerned at once. A cache made with a topic is
 * forgotten whole by every notification of it (runtime/signals.ts), which reaches the other
 * instances on one PostgreSQL database a moment later: the operators' and the agents' credentials
 * are forgotten that way everywhere. What was read from the database before something was
 * forgotten is not cached (`stamp`), so a read racing a revocation cannot put the revoked
 * credential back.
 *
 * Each device's desired-configuration version is kept the same way (operations/processes-store.ts).
 */
import type { AppContext } from '../context';

/** How long a verified credential is believed without asking the database again. */
export const CREDENTIAL_CACHE_TTL_MS = 3_000;
const CAPACITY = 10_000;

export class CredentialCache<V> {
  readonly #entries = new Map<string, { value: V; until: number }>();
  #forgotten = 0;

  constructor(
    private readonly now: () => Date,
    private readonly capacity = CAPACITY,
  ) {}

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.until > this.now().getTime()) return entry.value;
    this.#entries.delete(key);
    return undefined;
  }

  /** Changes whenever something is forgotten: take it before reading what `set` will cache. */
  get stamp(): number {
    return this.#forgotten;
  }

  /** Caches `value`, unless something was forgotten since `stamp` was taken (it may be stale). */
  set(key: string, value: V, stamp: number): void {
    if (stamp !== this.#forgotten) return;
    this.#entries.delete(key);
    this.#entries.set(key, { value, until: this.now().getTime() + CREDENTIAL_CACHE_TTL_MS });
    if (this.#entries.size > this.capacity) this.#entries.delete(this.#entries.keys().next().value!);
  }

  /** Forgets the entries whose value matches, or every entry without a predicate. */
  forget(matches: (value: V) => boolean = () => true): void {
    this.#forgotten++;
    for (const [key, { value }] of this.#entries) if (matches(value)) this.#entries.delete(key);
  }

  /** Forgets the entry of one key. */
  delete(key: string): void {
    this.#forgotten++;
    this.#entries.delete(key);
  }
}

/**
 * One cache per server (context) and kind, made on first use; with a `topic`, each notification of
 * it, on this instance or another, forgets the whole cache.
 */
export function cachePerServer<V>(topic?: string): (context: AppContext) => CredentialCache<V> {
  const caches = new WeakMap<AppContext, CredentialCache<V>>();
  return (context) => {
    let cache = caches.get(context);
    if (!cache) {
      const made = new CredentialCache<V>(() => context.now());
      if (topic !== undefined) context.signals.subscribe(topic, () => made.forget());
      caches.set(context, made);
      cache = made;
    }
    return cache;
  };
}

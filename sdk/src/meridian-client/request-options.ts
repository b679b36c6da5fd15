import type { HeadersLike } from '../internal/utils/headers';

/** Options every call accepts as its last argument; they override the client's for that call. */
export interface BaseRequestOptions {
  /** Milliseconds to wait for each attempt (default: the client's `timeout`, 60 000), plus the operation's `wait_seconds`. */
  timeout?: number;
  /** How many times to retry a failed attempt that is safe to repeat (default: the client's, 2). */
  maxRetries?: number;
  /** Aborts the call, including any wait between retries; the call then rejects with `UserAbortError`. */
  signal?: AbortSignal;
  /** Extra headers for this call; `null` removes a header the client would send. */
  headers?: HeadersLike;
}

export interface IdempotencyKeyOption {
  /**
   * The `Idempotency-Key` of this logical call. By default a fresh UUID is generated once per
   * call and reused by its retries; pass your own to make a retry of the whole call (for example
   * after a crash) replay the first response instead of creating a duplicate.
   */
  idempotencyKey?: string;
}

export interface IfMatchOption {
  /** The `ETag` you last read, sent as `If-Match`: a stale one fails with `PreconditionFailedError` (412). */
  ifMatch?: string;
}

/** Every per-call option; `meridian.request()` takes all of them. */
export interface RequestOptions extends BaseRequestOptions, IdempotencyKeyOption, IfMatchOption {}

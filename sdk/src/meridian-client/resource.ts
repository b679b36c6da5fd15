/**
 * What generated resource classes (generated/resources.gen.ts) are built from: a route table
 * entry per operation and a client that runs it. A resource method only says which route,
 * which arguments and which types.
 */
import type { APIPromise } from './api-promise';
import type { PagePromise } from './pagination';
import type { EventStream } from './streaming';
import type { RequestOptions } from './request-options';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

/** One operation of the spec, Octokit-style: `'GET /v1/devices/{device_id}'` plus what the spec says about it. */
export interface Route {
  readonly route: `${HttpMethod} /${string}`;
  /** The operation accepts `Idempotency-Key`: POSTs get one generated, so they may be retried. */
  readonly idempotencyKey?: boolean;
  /** The operation accepts `If-Match`. */
  readonly ifMatch?: boolean;
  /** The operation answers `{ data, next_cursor }` and takes `cursor`. */
  readonly paginated?: boolean;
  /** The operation answers Server-Sent Events (`text/event-stream`). */
  readonly stream?: boolean;
  /** The media type of a body that is not JSON (e.g. `image/jpeg`), sent with binary bodies. */
  readonly contentType?: string;
  /** The operation answers a file (`application/octet-stream`): the call resolves to the unread `Response`. */
  readonly download?: boolean;
}

export interface OperationArgs {
  path?: Record<string, string | number>;
  query?: object | undefined;
  body?: unknown;
  options?: RequestOptions | undefined;
}

/** The part of the client the generated resources use (not meant to be called directly). */
export interface OperationClient {
  _call<T>(route: Route, args: OperationArgs): APIPromise<T>;
  _list<T>(route: Route, args: OperationArgs): PagePromise<T>;
  _stream<T>(route: Route, args: OperationArgs): EventStream<T>;
}

export abstract class APIResource {
  protected readonly _client: OperationClient;

  constructor(client: OperationClient) {
    this._client = client;
  }
}

/**
 * The shape of one row of the generated table (generated/handlers.gen.ts): what the MSW
 * handlers serve for an operation. The generated file only holds data of this shape; every
 * decision about how to answer a request lives in the hand-written files beside it.
 */

/** A value that survives `JSON.stringify`/`JSON.parse` unchanged: what an example can hold. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

export interface MockResponse {
  /** The declared media type, or `null` when the response has no body (a `204`). */
  readonly contentType: string | null;
  /** Declared response headers that have an example value in the spec (always `Request-Id`). */
  readonly headers: Readonly<Record<string, string>>;
  /** The example body, `null` when there is none. */
  readonly body: JsonValue;
}

export interface MockOperation {
  readonly method: 'get' | 'put' | 'post' | 'patch' | 'delete' | 'head' | 'options';
  /** The OpenAPI path in MSW syntax: `/v1/devices/:device_id`. */
  readonly path: string;
  /** The lowest declared 2xx and its example. */
  readonly success: MockResponse & { readonly status: number };
  /** Every declared 4xx/5xx, keyed by status, with an example problem document. */
  readonly errors: Readonly<Record<string, MockResponse>>;
}

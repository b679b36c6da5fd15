/**
 * `Meridian`: the client. It holds the options (base URL, credentials, timeout, retries, fetch,
 * hooks, logger) and the one request path every call goes through:
 *
 *   build (URL, headers, body, Idempotency-Key once per call)
 *   → send (fetch, with the timeout and the caller's signal)
 *   → retry decision (meridian-client/retries.ts)
 *   → parse (JSON, or nothing for 204)
 *   → typed error (meridian-client/errors.ts)
 *
 * Resources (`meridian.devices`, `meridian.sites`, …) are generated from the spec into
 * generated/resources.gen.ts; they only name a route and the types.
 */
import { APIPromise, type APIResponse } from './meridian-client/api-promise';
import {
  APIConnectionError,
  APIError,
  MeridianError,
  UserAbortError,
  errorFromResponse,
} from './meridian-client/errors';
import { AttemptTimeout } from './meridian-client/attempt-timeout';
import { Page, PagePromise, type PageBody } from './meridian-client/pagination';
import { EventStream } from './meridian-client/streaming';
import { iterableStream } from './meridian-client/uploads';
import type { RequestOptions } from './meridian-client/request-options';
import type { HttpMethod, OperationArgs, OperationClient, Route } from './meridian-client/resource';
import {
  DEFAULT_MAX_RETRIES,
  isRetryableStatus,
  isSafeToRepeat,
  MAX_RETRY_AFTER_MS,
  retryDelay,
} from './meridian-client/retries';
import { resources, routes, type Resources } from './generated/resources.gen';
import { documentCookies, readCookie } from './internal/utils/cookies';
import {
  lowerCaseHeaders,
  mergeHeaders,
  type HeaderRecord,
  type HeadersLike,
} from './internal/utils/headers';
import { isLogged, levelLogger, type Logger, type LogLevel } from './internal/utils/log';
import { parseRetryAfter } from './internal/utils/retry-after';
import { sleep } from './internal/utils/sleep';
import { buildUrl, fillPath, trimBaseUrl } from './internal/utils/url';
import { uuid } from './internal/utils/uuid';
import { webhooks } from './webhooks';

export type Fetch = (input: Request, init?: RequestInit) => Promise<Response>;

export interface MeridianOptions {
  /** Where the API lives, e.g. `https://meridian.example.com` or `http://localhost:8080`. */
  baseUrl: string;
  /** A session token (`mst_…`, from `auth.login`) or an API token (`mtk_…`), sent as `Authorization: Bearer`. */
  token?: string;
  /**
   * `'cookie'`: browser session mode. Requests are sent with `credentials: 'include'` so the
   * `meridian_session` cookie goes along, and unsafe methods (POST, PUT, PATCH, DELETE) echo the
   * `meridian_csrf` cookie as `X-CSRF-Token`, as the server requires.
   */
  credentials?: 'cookie';
  /**
   * Milliseconds to wait for each attempt before failing it with `TimeoutError`. Default 60 000
   * (60 s). An operation's `wait_seconds` (the time it may wait on the server) is added to it.
   * On Node.js a call without a `signal` abandons the timed-out request rather than aborting it
   * (see "Timeouts and cancelling" in the README).
   */
  timeout?: number;
  /** Retries of an attempt that failed in a way worth retrying (see README). Default 2; 0 turns retries off. */
  maxRetries?: number;
  /** The `fetch` to use. Default: the global `fetch`, looked up at each call (so MSW and similar can patch it). */
  fetch?: Fetch;
  /** Headers sent with every request; `null` removes one the client would send. */
  headers?: HeadersLike;
  /** Called before each attempt is sent. May return a replacement `Request` (clone it before reading its body). */
  // biome-ignore lint/suspicious/noConfusingVoidType: a hook that returns nothing is the common case
  onRequest?: (request: Request) => void | Request | Promise<void | Request>;
  /** Called with every response, including those that will be retried (the body is still unread: clone it to read it). */
  onResponse?: (response: Response, request: Request) => void | Promise<void>;
  /** Where to log. Default `console`. Credentials and tokens are redacted. */
  logger?: Logger;
  /** The least severe level logged: `'debug'` (every request and response), `'info'` (retries), `'warn'` (default), `'error'`, `'off'`. */
  logLevel?: LogLevel;
  /** Cookie mode: where to read cookies from. Default `document.cookie`; set it outside a browser or in tests. */
  readCookies?: () => string;
}

/** `meridian.request()`: any method and path, with the same retries, errors and hooks as the resource methods. */
export interface RawRequestOptions extends RequestOptions {
  /** Values for `{placeholders}` in the path. */
  pathParams?: Record<string, string | number>;
  query?: object;
  /**
   * A JSON-serialisable value, or a string/Blob/FormData/URLSearchParams/ArrayBuffer sent as is,
   * or a `ReadableStream` or async iterable (e.g. a Node.js stream) of bytes, streamed as it is
   * read (sent once: never retried).
   */
  body?: unknown;
}

const CSRF_COOKIE = 'meridian_csrf';
const IN_NODE =
  (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node !== undefined;
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const DEFAULT_TIMEOUT_MS = 60_000;

interface Call {
  method: HttpMethod;
  /** The path template, e.g. `/v1/devices/{device_id}`. */
  template: string;
  pathParams: Record<string, string | number> | undefined;
  query: object | undefined;
  body: unknown;
  options: RequestOptions;
  /** The route of the spec, when known. */
  route: Route | undefined;
  /** Server-Sent Events: resolve with the response as soon as it starts, body unread. */
  stream?: boolean;
}

/**
 * A file download (an `application/octet-stream` answer): the call resolves to the `Response`
 * itself, its body unread, so the caller streams it (to a file, through a hash) instead of the
 * client holding the whole file. A `304` (If-None-Match) resolves too: there is nothing to read.
 */
function isDownload(call: Call, path: string): boolean {
  return (call.route ?? findRoute(call.method, path))?.download === true;
}

export interface Meridian extends Resources {}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the generated resources are installed on the class in its constructor
export class Meridian implements OperationClient {
  /** Verify and parse webhooks (Standard Webhooks); needs no client. */
  static readonly webhooks = webhooks;

  readonly baseUrl: string;
  readonly timeout: number;
  readonly maxRetries: number;
  readonly credentials: 'cookie' | undefined;
  /** The base URL without trailing slashes, as paths are appended to it. */
  readonly #base: string;
  /** What every request sends: Accept, Authorization and the `headers` option (its `null`s kept, to remove). */
  readonly #defaultHeaders: Record<string, string | null>;
  readonly #fetch: Fetch;
  /**
   * Whether each attempt gets an AbortSignal, aborted at its timeout: in a browser, or with a
   * fetch of the caller's. Node.js's own fetch gets one only with a caller's signal (attempt-timeout.ts).
   */
  readonly #abortsAttempts: boolean;
  readonly #onRequest: MeridianOptions['onRequest'];
  readonly #onResponse: MeridianOptions['onResponse'];
  readonly #readCookies: () => string;
  readonly #log: Logger;
  /** Whether requests and responses are logged (`logLevel: 'debug'`): their details are gathered only then. */
  readonly #debugging: boolean;
  /**
   * Whether an attempt is made a `Request`: only for whoever is handed one (a given `fetch`,
   * `onRequest`, `onResponse`). Otherwise the global fetch gets the URL and the init, which
   * sends the same request without building a `Request` that fetch would then copy into another.
   */
  readonly #handsOutRequests: boolean;

  constructor(options: MeridianOptions) {
    if (!options || typeof options.baseUrl !== 'string' || options.baseUrl === '') {
      throw new MeridianError(
        'new Meridian({ baseUrl }) needs the URL of the API, e.g. http://localhost:8080.',
      );
    }
    this.baseUrl = options.baseUrl;
    this.timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
    this.maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    this.credentials = options.credentials;
    this.#base = trimBaseUrl(options.baseUrl);
    this.#defaultHeaders = {
      accept: 'application/json',
      ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
      ...lowerCaseHeaders(options.headers),
    };
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#abortsAttempts = !IN_NODE || options.fetch !== undefined;
    this.#onRequest = options.onRequest;
    this.#onResponse = options.onResponse;
    this.#readCookies = options.readCookies ?? documentCookies;
    this.#log = levelLogger(options.logger ?? console, options.logLevel ?? 'warn');
    this.#debugging = isLogged('debug', options.logLevel ?? 'warn');
    this.#handsOutRequests = Boolean(options.fetch ?? options.onRequest ?? options.onResponse);
    for (const [name, Resource] of Object.entries(resources)) {
      Object.defineProperty(this, name, { value: new Resource(this), enumerable: true });
    }
  }

  /**
   * Calls any operation by method and path, e.g.
   * `meridian.request('GET', '/v1/devices/{device_id}', { pathParams: { device_id } })`.
   * Resolves to the parsed body (typed as you say), with the same retries, errors and hooks.
   */
  request<T = unknown>(method: HttpMethod, path: string, options: RawRequestOptions = {}): APIPromise<T> {
    const { pathParams, query, body, ...requestOptions } = options;
    const call: Call = {
      method,
      template: path,
      pathParams,
      query,
      body,
      options: requestOptions,
      route: undefined,
    };
    return new APIPromise(this.#run(call) as Promise<APIResponse<T>>);
  }

  /** Runs one operation of the route table; used by the generated resources, not meant to be called directly. */
  _call<T>(route: Route, args: OperationArgs): APIPromise<T> {
    return new APIPromise(this.#run(this.#callOf(route, args)) as Promise<APIResponse<T>>);
  }

  /** Runs a paginated operation and wraps its body in a `Page`; used by the generated resources. */
  _list<T>(route: Route, args: OperationArgs): PagePromise<T> {
    const fetchPage = (cursor: string): PagePromise<T> =>
      this._list<T>(route, {
        ...args,
        query: { ...args.query, cursor },
        options: withoutIdempotencyKey(args.options),
      });
    const result = this.#run(this.#callOf(route, args)).then(
      ({ data, response, requestId }): APIResponse<Page<T>> => ({
        data: new Page<T>(data as PageBody<T>, response, fetchPage),
        response,
        requestId,
      }),
    );
    return new PagePromise(result);
  }

  /** Opens an event stream (reconnecting with Last-Event-ID); used by the generated resources. */
  _stream<T>(route: Route, args: OperationArgs): EventStream<T> {
    const options = args.options ?? {};
    const open = (lastEventId: string | undefined, signal: AbortSignal): Promise<Response> => {
      const headers = mergeHeaders(
        { Accept: 'text/event-stream' },
        options.headers,
        lastEventId === undefined ? undefined : { 'Last-Event-ID': lastEventId },
      );
      const call = this.#callOf(route, { ...args, options: { ...options, headers, signal } });
      return this.#run({ ...call, stream: true }).then((outcome) => outcome.response);
    };
    const given = mergeHeaders(options.headers)['last-event-id'];
    return new EventStream<T>(open, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(given === undefined ? {} : { lastEventId: given }),
    });
  }

  #callOf(route: Route, args: OperationArgs): Call {
    const space = route.route.indexOf(' ');
    return {
      method: route.route.slice(0, space) as HttpMethod,
      template: route.route.slice(space + 1),
      pathParams: args.path,
      query: args.query,
      body: args.body,
      options: args.options ?? {},
      route,
    };
  }

  /** The one request path: build, send, retry, parse, error. */
  async #run(call: Call): Promise<APIResponse<unknown>> {
    const { method, options } = call;
    const path = fillPath(call.template, call.pathParams);
    const url = buildUrl(this.#base, path, call.query);
    const serialized = serializeBody(call.body);
    const { body } = serialized;
    // A binary body carries no type of its own (unless a typed Blob): send the spec's.
    const contentType =
      serialized.contentType ??
      (body === undefined || (body instanceof Blob && body.type !== '')
        ? undefined
        : call.route?.contentType);
    const headers = this.#headersOf(call, path, contentType);
    const maxRetries = Math.max(0, options.maxRetries ?? this.maxRetries);
    // An operation that waits on the server (`wait_seconds`) gets that long on top of the timeout.
    const timeout = (options.timeout ?? this.timeout) + waitSecondsOf(call.query) * 1000;
    // A stream is read as it is sent, so it cannot be sent again.
    const streamed = body instanceof ReadableStream;
    const repeatable = !streamed && isSafeToRepeat(method, headers);
    const what = `${method} ${path}`;
    const download = isDownload(call, path);

    const { signal } = options;
    for (let retry = 0; ; retry++) {
      if (signal?.aborted) throw new UserAbortError(signal.reason);
      const init = this.#initOf(method, headers, body);
      const request = this.#handsOutRequests ? await this.#requestOf(url, init) : undefined;
      // With a caller's signal, a tick passes before the request is sent: an abort right after the
      // call started stops it unsent (the listener below sees the signal already aborted).
      if (signal !== undefined && request === undefined) await undefined;
      if (this.#debugging) {
        this.#log.debug(`→ ${what}${retry > 0 ? ` (retry ${retry})` : ''}`, {
          url: request?.url ?? url,
          headers: request?.headers ?? init.headers,
          body: call.body,
        });
      }

      const started = this.#debugging ? Date.now() : 0;
      const controller = signal !== undefined || this.#abortsAttempts ? new AbortController() : undefined;
      const deadline = new AttemptTimeout(timeout, what, controller);
      const forwardAbort = signal && controller && ((): void => controller.abort(signal.reason));
      if (forwardAbort) {
        signal.addEventListener('abort', forwardAbort, { once: true });
        // A listener added to a signal that is already aborted never fires: an abort that came
        // while the request was being built (e.g. in an async onRequest) must still stop it.
        if (signal.aborted) forwardAbort();
      }

      let failure: MeridianError;
      let retryAfterMs: number | undefined;
      // A response handed over unread stays tied to the caller's signal, which can stop its body.
      let handedOver = false;
      try {
        let response: Response;
        try {
          const attemptSignal = controller && { signal: controller.signal };
          const sent =
            request === undefined
              ? globalThis.fetch(url, attemptSignal ? { ...init, ...attemptSignal } : init)
              : this.#fetch(request, attemptSignal);
          response = await deadline.race(sent, cancelBody);
        } catch (error) {
          throw this.#connectionError(error, deadline, signal, what);
        }
        if (request !== undefined) await this.#onResponse?.(response, request);
        const requestId = response.headers.get('request-id') ?? undefined;
        if (call.stream && response.ok) return { data: undefined, response, requestId };
        if (download && (response.ok || response.status === 304)) {
          handedOver = true;
          return { data: response, response, requestId };
        }
        let parsed: unknown;
        try {
          parsed = await deadline.race(readBody(response, method));
        } catch (error) {
          throw error instanceof MeridianError ? error : this.#connectionError(error, deadline, signal, what);
        }
        if (this.#debugging) {
          this.#log.debug(`← ${response.status} ${what} in ${Date.now() - started} ms`, {
            requestId,
            headers: response.headers,
          });
        }
        if (response.ok) return { data: parsed, response, requestId };
        const error = errorFromResponse(response.status, parsed, response.headers);
        // A replayed 5xx is the first attempt's own answer, kept by the server because that
        // attempt may have written before failing: asking again only replays it again.
        if (
          !isRetryableStatus(error.status, error.code) ||
          response.headers.get('idempotent-replayed') === 'true'
        )
          throw error;
        failure = error;
        retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      } catch (error) {
        if (!(error instanceof APIConnectionError)) throw error;
        failure = error;
      } finally {
        deadline.clear();
        if (forwardAbort && !handedOver) signal.removeEventListener('abort', forwardAbort);
      }

      if (!repeatable || retry >= maxRetries) {
        if (!repeatable && retry < maxRetries) {
          this.#log.debug(
            `not retrying ${what}: ${streamed ? 'its streamed body was sent once and is gone' : `a ${method} without Idempotency-Key could do the work twice`}`,
          );
        }
        throw failure;
      }
      if (retryAfterMs !== undefined && retryAfterMs > MAX_RETRY_AFTER_MS) {
        this.#log.warn(
          `${what}: Retry-After asks for ${Math.round(retryAfterMs / 1000)} s; retrying after ${MAX_RETRY_AFTER_MS / 1000} s instead`,
        );
      }
      const delay = retryDelay(retry, retryAfterMs);
      const retrying = `${what} failed (${failure.status ?? failure.name}); retry ${retry + 1} of ${maxRetries} in ${delay} ms`;
      if (failure.requestId === undefined) this.#log.info(retrying);
      else this.#log.info(retrying, { requestId: failure.requestId });
      try {
        await sleep(delay, signal);
      } catch (reason) {
        throw new UserAbortError(reason);
      }
    }
  }

  /** Headers of the call, fixed once: every retry sends the same `Idempotency-Key`. */
  #headersOf(call: Call, path: string, contentType: string | undefined): HeaderRecord {
    const { method, options } = call;
    const headers = mergeHeaders(
      contentType === undefined ? undefined : { 'content-type': contentType },
      this.#defaultHeaders,
      options.headers,
    );
    if (options.ifMatch !== undefined) headers['if-match'] = options.ifMatch;
    if (options.idempotencyKey !== undefined) {
      headers['idempotency-key'] = options.idempotencyKey;
    } else if (method === 'POST' && headers['idempotency-key'] === undefined) {
      // Only where the server honours the key: there it makes a retry replay instead of
      // repeating the work. A path outside the spec (a newer server's operation) gets one too.
      const route = call.route ?? findRoute(method, path);
      if (route === undefined || route.idempotencyKey === true) headers['idempotency-key'] = uuid();
    }
    return headers;
  }

  /** What one attempt sends: the call's headers (and the CSRF cookie's token), the body, cookies. */
  #initOf(
    method: HttpMethod,
    headers: HeaderRecord,
    body: BodyInit | undefined,
  ): RequestInit & { headers: HeaderRecord } {
    let attemptHeaders = headers;
    if (
      this.credentials === 'cookie' &&
      UNSAFE_METHODS.has(method) &&
      headers['x-csrf-token'] === undefined
    ) {
      const csrf = readCookie(this.#readCookies(), CSRF_COOKIE);
      if (csrf === undefined) {
        // Not a warning: signing in is itself an unsafe request made before the cookie exists.
        // Where the token is required, the server's 403 csrf_token_invalid explains it.
        this.#log.debug(`cookie mode: no ${CSRF_COOKIE} cookie to send as X-CSRF-Token on ${method}`);
      } else {
        // The cookie is read at each attempt: the call's own headers stay as they are.
        attemptHeaders = { ...headers, 'x-csrf-token': csrf };
      }
    }
    // Node.js's fetch (undici) reads a Blob body whole into memory before sending it, but sends a
    // stream as it is read: there a Blob (say, a 200 MB file from fs.openAsBlob) goes as a fresh
    // stream at each attempt, with its length. Browsers send Blobs from disk, and most of them
    // cannot stream a request body at all.
    let sent = body;
    if (body instanceof Blob && IN_NODE) {
      sent = body.stream();
      attemptHeaders = { ...attemptHeaders, 'content-length': String(body.size) };
    }
    return {
      method,
      headers: attemptHeaders,
      ...(sent === undefined ? {} : { body: sent }),
      // fetch sends a stream only when told the response may come before the body is all sent. A
      // stream cannot follow a redirect anyway, and Node.js's fetch would otherwise keep a copy of
      // everything sent, in case one came (its request clone tees the body).
      ...(sent instanceof ReadableStream ? { duplex: 'half', redirect: 'error' } : {}),
      ...(this.credentials === 'cookie' ? { credentials: 'include' as const } : {}),
    } as RequestInit & { headers: HeaderRecord };
  }

  /** A fresh `Request` for one attempt (a body can only be sent once), passed through `onRequest`. */
  async #requestOf(url: string, init: RequestInit): Promise<Request> {
    const request = new Request(url, init);
    return (await this.#onRequest?.(request)) ?? request;
  }

  #connectionError(
    error: unknown,
    deadline: AttemptTimeout,
    caller: AbortSignal | undefined,
    what: string,
  ): MeridianError {
    if (caller?.aborted) return new UserAbortError(caller.reason);
    if (deadline.expired !== undefined) return deadline.expired;
    const reason = error instanceof Error ? error.message : String(error);
    return new APIConnectionError(`${what}: could not reach ${this.baseUrl} (${reason})`, { cause: error });
  }
}

/** What an abandoned attempt does with an answer that came after its deadline: closes it unread. */
function cancelBody(response: Response): void {
  response.body?.cancel().catch(() => {});
}

function withoutIdempotencyKey(options: RequestOptions | undefined): RequestOptions | undefined {
  if (options?.idempotencyKey === undefined) return options;
  const { idempotencyKey: _ignored, ...rest } = options;
  return rest;
}

/** Parses a body: JSON when the server says so, text otherwise, nothing for 204/205/HEAD or an empty body. */
async function readBody(response: Response, method: HttpMethod): Promise<unknown> {
  if (method === 'HEAD' || response.status === 204 || response.status === 205) {
    await response.body?.cancel();
    return undefined;
  }
  const type = response.headers.get('content-type') ?? '';
  const json = /[/+]json\b/i.test(type);
  // Images and other binary answers stay bytes: decoding them as text would corrupt them.
  // NDJSON (an export) is text: one JSON document per line.
  if (response.ok && !json && type !== '' && !/^text\/|\/x-ndjson\b/i.test(type)) return response.blob();
  const text = await response.text();
  if (text === '') return undefined;
  if (!json) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    if (!response.ok) return text;
    throw new APIError(
      response.status,
      { detail: `The ${type} body is not valid JSON: ${text.slice(0, 200)}` },
      response.headers,
    );
  }
}

function serializeBody(body: unknown): { body: BodyInit | undefined; contentType: string | undefined } {
  if (body === undefined) return { body: undefined, contentType: undefined };
  if (
    typeof body === 'string' ||
    body instanceof Blob ||
    body instanceof FormData ||
    body instanceof URLSearchParams ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof ReadableStream
  ) {
    return { body: body as BodyInit, contentType: undefined };
  }
  // A Node.js stream or another async iterable of bytes: streamed as it is read.
  if (Symbol.asyncIterator in Object(body)) {
    return { body: iterableStream(body as AsyncIterable<unknown>), contentType: undefined };
  }
  return { body: JSON.stringify(body), contentType: 'application/json' };
}

/** The seconds an operation may wait on the server before answering (its `wait_seconds` query parameter). */
function waitSecondsOf(query: object | undefined): number {
  const seconds = Number((query as { wait_seconds?: unknown } | undefined)?.wait_seconds ?? 0);
  return Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
}

let routeMatchers: { pattern: RegExp; route: Route }[] | undefined;

/** The route of the spec a method and filled path belong to, so `request()` behaves like the resource method. */
function findRoute(method: HttpMethod, path: string): Route | undefined {
  routeMatchers ??= Object.values(routes as Record<string, Route>).map((route) => {
    const [routeMethod, template] = route.route.split(' ') as [string, string];
    const pattern = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^{}]+\}/g, '[^/]+');
    return { pattern: new RegExp(`^${routeMethod} ${pattern}$`), route };
  });
  const pathname = path.split('?')[0];
  return routeMatchers.find((matcher) => matcher.pattern.test(`${method} ${pathname}`))?.route;
}

/**
 * Webhooks in the Standard Webhooks format (https://www.standardwebhooks.com), so that this and
 * any other Standard Webhooks library verify each other's signatures:
 *
 * - headers `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`, a
 *   space-separated list of `v1,<base64 HMAC-SHA256 of "${id}.${timestamp}.${body}">`;
 * - the secret is `whsec_` followed by the base64 of the key;
 * - timestamps more than 5 minutes in the past or the future are refused (replays, bad clocks).
 *
 * Only WebCrypto (`globalThis.crypto.subtle`) is used, so it runs in Node 20+, browsers, Deno,
 * Bun and edge runtimes.
 */
import type { AgentEventWebhookPayload, Webhooks } from './generated/types.gen';
import { WebhookVerificationError } from './meridian-client/errors';
import { uuid } from './internal/utils/uuid';

/**
 * A body Meridian sends, one per event type declared in the spec's `webhooks` section. Agent events
 * are typed `agent.${string}` (the spec can only say "a string starting with agent."), so that
 * narrowing on `type` tells them from the others.
 */
export type MeridianWebhookPayload =
  | Exclude<Webhooks, { key: 'agent.*' }>['body']
  | (Omit<AgentEventWebhookPayload, 'type' | 'data'> & {
      type: `agent.${string}`;
      data: Omit<AgentEventWebhookPayload['data'], 'type'> & { type: `agent.${string}` };
    });

/**
 * A verified Meridian webhook: its `webhook-id` and body, a union discriminated by `type`, so
 * `if (event.type === 'device.offline')` types `event.data.data` as that event's data. (A simulated
 * event of a type Meridian does not raise itself is not in the union.)
 */
export type MeridianWebhookEvent = MeridianWebhookPayload extends infer P
  ? P extends unknown
    ? { id: string } & P
    : never
  : never;

/** A verified webhook whose `data` type you state (`unwrap<T>`). */
export interface WebhookEvent<T = unknown> {
  /** The `webhook-id`: unique per message and the same on redelivery (use it to deduplicate). */
  id: string;
  /** What happened, e.g. `device.offline`. */
  type: string;
  /** When it happened (RFC 3339). */
  timestamp: string;
  data: T;
}

/** Request headers as a `Headers` object or a plain record (e.g. Node's `req.headers`); names are case-insensitive. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

/** The raw body exactly as received. */
export type WebhookBody = string | Uint8Array | ArrayBuffer;

/** `whsec_…` as shown when the webhook was created (or the bare base64, or the key bytes). */
export type WebhookSecret = string | Uint8Array;

export interface WebhookVerifyOptions {
  /** Accepted clock difference in seconds, both ways. Default 300 (5 minutes). */
  toleranceSeconds?: number;
  /** The current time (for tests). */
  now?: Date;
}

export interface WebhookSignOptions {
  /** The message ID. Default: a random `msg_…`. */
  id?: string;
  /** When the message is sent. Default: now. */
  timestamp?: Date;
}

/** The headers a signed webhook is sent with. */
export type SignedWebhookHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

const DEFAULT_TOLERANCE_SECONDS = 5 * 60;
const SECRET_PREFIX = 'whsec_';
const encoder = new TextEncoder();

/**
 * Checks that a webhook was signed with `secret` and is fresh. Resolves when it is; rejects with
 * `WebhookVerificationError` (saying the usual cause) when it is not.
 */
async function verify(
  rawBody: WebhookBody,
  headers: WebhookHeaders,
  secret: WebhookSecret,
  options: WebhookVerifyOptions = {},
): Promise<void> {
  const body = bodyBytes(rawBody);
  const id = requireHeader(headers, 'webhook-id');
  const timestamp = requireHeader(headers, 'webhook-timestamp');
  const signatures = requireHeader(headers, 'webhook-signature');
  checkTimestamp(timestamp, options);
  const expected = await hmac(secretKey(secret), signedContent(id, timestamp, body));
  const candidates = signatures.split(' ').flatMap((entry) => {
    const [version, signature] = entry.split(',', 2);
    return version === 'v1' && signature ? [decodeBase64(signature)] : [];
  });
  if (candidates.length === 0) {
    throw new WebhookVerificationError('The webhook-signature header holds no v1 signature ("v1,<base64>").');
  }
  // Every candidate is compared (no early exit), each in constant time.
  let matched = false;
  for (const candidate of candidates) if (candidate && timingSafeEqual(candidate, expected)) matched = true;
  if (!matched) {
    throw new WebhookVerificationError(
      'No signature in webhook-signature matches. Usual causes: the body was parsed and serialised again ' +
        '(pass the raw request body, e.g. express.raw({ type: "application/json" })), the secret is not this ' +
        "endpoint's whsec_… secret, or a proxy changed the body.",
    );
  }
}

/**
 * Verifies a webhook (as `verify`) and returns its event: typed by `type` from the spec's webhooks,
 * or with the `data` type you give (`unwrap<T>(…)`).
 */
function unwrap(
  rawBody: WebhookBody,
  headers: WebhookHeaders,
  secret: WebhookSecret,
  options?: WebhookVerifyOptions,
): Promise<MeridianWebhookEvent>;
function unwrap<T>(
  rawBody: WebhookBody,
  headers: WebhookHeaders,
  secret: WebhookSecret,
  options?: WebhookVerifyOptions,
): Promise<WebhookEvent<T>>;
async function unwrap<T>(
  rawBody: WebhookBody,
  headers: WebhookHeaders,
  secret: WebhookSecret,
  options: WebhookVerifyOptions = {},
): Promise<WebhookEvent<T>> {
  await verify(rawBody, headers, secret, options);
  const text = typeof rawBody === 'string' ? rawBody : new TextDecoder().decode(bodyBytes(rawBody));
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    throw new WebhookVerificationError('The webhook is signed correctly but its body is not JSON.');
  }
  if (
    typeof payload !== 'object' ||
    payload === null ||
    typeof (payload as { type?: unknown }).type !== 'string' ||
    !('data' in payload)
  ) {
    throw new WebhookVerificationError(
      'The webhook body is not an event: it needs a string "type" and a "data" field.',
    );
  }
  const event = payload as { type: string; timestamp?: unknown; data: T };
  const id = requireHeader(headers, 'webhook-id');
  const timestamp =
    typeof event.timestamp === 'string'
      ? event.timestamp
      : new Date(Number(requireHeader(headers, 'webhook-timestamp')) * 1000).toISOString();
  return { id, type: event.type, timestamp, data: event.data };
}

/** Signs a body as a Meridian server would: the headers to send it with. For tests and your own senders. */
async function sign(
  rawBody: WebhookBody,
  secret: WebhookSecret,
  options: WebhookSignOptions = {},
): Promise<SignedWebhookHeaders> {
  const id = options.id ?? `msg_${uuid().replaceAll('-', '')}`;
  const timestamp = String(Math.floor((options.timestamp ?? new Date()).getTime() / 1000));
  const signature = await hmac(secretKey(secret), signedContent(id, timestamp, bodyBytes(rawBody)));
  return {
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${encodeBase64(signature)}`,
  };
}

export const webhooks = { verify, unwrap, sign } as const;

function bodyBytes(rawBody: unknown): Uint8Array {
  if (typeof rawBody === 'string') return encoder.encode(rawBody);
  if (rawBody instanceof Uint8Array) return rawBody;
  if (rawBody instanceof ArrayBuffer) return new Uint8Array(rawBody);
  if (rawBody === undefined || rawBody === null) {
    throw new WebhookVerificationError(
      'No body was given: pass the raw request body (a string or bytes) exactly as received.',
    );
  }
  throw new WebhookVerificationError(
    `Pass the raw request body (a string or bytes), not a parsed ${typeof rawBody}: parsing and serialising again changes ` +
      'the bytes, so the signature cannot match. In Express use express.raw({ type: "application/json" }) for the webhook route; ' +
      'in Next.js or fetch handlers use await request.text().',
  );
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers | undefined)?.get === 'function')
    return (headers as Headers).get(name) ?? undefined;
  if (typeof headers !== 'object' || headers === null) return undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

function requireHeader(headers: WebhookHeaders, name: string): string {
  const value = header(headers, name);
  if (value === undefined || value === '') {
    throw new WebhookVerificationError(
      `The ${name} header is missing: pass the request's headers as received (all three webhook-* headers are needed), ` +
        'and check that no proxy strips them.',
    );
  }
  return value;
}

function checkTimestamp(timestamp: string, options: WebhookVerifyOptions): void {
  if (!/^\d+$/.test(timestamp))
    throw new WebhookVerificationError(`webhook-timestamp must be Unix seconds, got "${timestamp}".`);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const age = now - Number(timestamp);
  if (age > tolerance) {
    throw new WebhookVerificationError(
      `The webhook is ${age} s old (more than ${tolerance} s): a replay, or this machine's clock is wrong.`,
    );
  }
  if (-age > tolerance) {
    throw new WebhookVerificationError(
      `The webhook is timestamped ${-age} s in the future (more than ${tolerance} s): check this machine's clock.`,
    );
  }
}

function secretKey(secret: WebhookSecret): Uint8Array {
  if (secret instanceof Uint8Array) {
    if (secret.length === 0) throw new WebhookVerificationError('The webhook secret is empty.');
    return secret;
  }
  if (typeof secret !== 'string' || secret === '') {
    throw new WebhookVerificationError("No webhook secret was given: pass the endpoint's whsec_… secret.");
  }
  const key = decodeBase64(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret);
  if (!key || key.length === 0) {
    throw new WebhookVerificationError(
      'The webhook secret is not whsec_ followed by base64: copy it exactly as shown when the webhook was created.',
    );
  }
  return key;
}

function signedContent(id: string, timestamp: string, body: Uint8Array): Uint8Array {
  const prefix = encoder.encode(`${id}.${timestamp}.`);
  const content = new Uint8Array(prefix.length + body.length);
  content.set(prefix);
  content.set(body, prefix.length);
  return content;
}

async function hmac(key: Uint8Array, content: Uint8Array): Promise<Uint8Array> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle)
    throw new WebhookVerificationError(
      'WebCrypto (crypto.subtle) is not available: it needs Node 20+, a browser in a secure context, Deno or Bun.',
    );
  const cryptoKey = await subtle.importKey(
    'raw',
    key as BufferSource,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return new Uint8Array(await subtle.sign('HMAC', cryptoKey, content as BufferSource));
}

function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

function encodeBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function decodeBase64(value: string): Uint8Array | undefined {
  try {
    return Uint8Array.from(atob(value), (char) => char.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/**
 * The error tree. Everything the client throws is a `MeridianError`:
 *
 * - `APIError` and its subclasses: the server answered with an error status. They carry the
 *   RFC 9457 problem fields (`status`, `code`, `title`, `detail`, `errors`, `type`) and the
 *   `Request-Id` to quote when asking for help.
 * - `APIConnectionError` (and `TimeoutError`): no answer arrived.
 * - `UserAbortError`: the caller's `AbortSignal` fired.
 * - `WebhookVerificationError`: a webhook failed verification.
 *
 * `instanceof` is answered from a brand (`Symbol.for('meridian.error')`) that lists the kinds
 * an error is, rather than from the prototype chain: an error thrown by the ESM build of the
 * SDK still matches the classes of the CJS build (and the other way round) when both end up
 * loaded in one process. Kinds are explicit strings because minifiers rename classes.
 */
import type { MfaChallenge, ValidationIssue } from '../generated/types.gen';
import { parseRetryAfter } from '../internal/utils/retry-after';

const BRAND = Symbol.for('meridian.error');

/** The fields of an `application/problem+json` body, as far as they are present and well-typed. */
export interface ProblemDetails {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  request_id?: string;
  errors?: ValidationIssue[];
}

export interface MeridianErrorInit {
  status?: number;
  problem?: ProblemDetails;
  headers?: Headers;
  cause?: unknown;
}

type ErrorClass = abstract new (...args: never[]) => unknown;

/** The kinds of a class and of its ancestors, up to `MeridianError`. */
function kindsOf(target: ErrorClass): string[] {
  const kinds: string[] = [];
  for (
    let current: unknown = target;
    typeof current === 'function';
    current = Object.getPrototypeOf(current)
  ) {
    if (Object.hasOwn(current, 'kind')) kinds.push((current as unknown as { kind: string }).kind);
    if (current === MeridianError) break;
  }
  return kinds;
}

export class MeridianError extends Error {
  /** The stable name `instanceof` checks against; every subclass declares its own. */
  static readonly kind: string = 'MeridianError';

  // `this` is the class `instanceof` was asked about (a subclass, usually): that is the point here.
  // biome-ignore-start lint/complexity/noThisInStatic: see above
  static override [Symbol.hasInstance](value: unknown): boolean {
    // A user's subclass without its own kind gets ordinary prototype-chain semantics.
    if (!Object.hasOwn(this, 'kind')) return Function.prototype[Symbol.hasInstance].call(this, value);
    if (typeof value !== 'object' || value === null) return false;
    const kinds = (value as { [BRAND]?: unknown })[BRAND];
    return Array.isArray(kinds) && kinds.includes(this.kind);
  }
  // biome-ignore-end lint/complexity/noThisInStatic: see above

  /** The HTTP status, when the server answered. */
  readonly status: number | undefined;
  /** A stable machine-readable code such as `not_found` or `validation_failed`. */
  readonly code: string | undefined;
  /** What went wrong with this request and how to fix it (for people). */
  readonly detail: string | undefined;
  /** A short summary of the kind of problem (for people). */
  readonly title: string | undefined;
  /** A URI reference naming the kind of problem; it opens the errors guide. */
  readonly type: string | undefined;
  /** For validation errors, one entry per invalid field. */
  readonly errors: ValidationIssue[];
  /** The `Request-Id` of the response (quote it when asking for help). */
  readonly requestId: string | undefined;
  /** The response headers, when the server answered. */
  readonly headers: Headers | undefined;

  constructor(message: string, init: MeridianErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    const problem = init.problem ?? {};
    this.status = init.status;
    this.code = problem.code;
    this.detail = problem.detail;
    this.title = problem.title;
    this.type = problem.type;
    this.errors = problem.errors ?? [];
    this.requestId = init.headers?.get('request-id') ?? problem.request_id;
    this.headers = init.headers;
    const kinds = kindsOf(new.target);
    Object.defineProperty(this, BRAND, { value: kinds, enumerable: false });
    Object.defineProperty(this, 'name', {
      value: kinds[0] ?? 'MeridianError',
      enumerable: false,
      configurable: true,
      writable: true,
    });
  }
}

/** The server answered with an error status. Thrown as is for statuses without a class of their own. */
export class APIError extends MeridianError {
  static override readonly kind: string = 'APIError';
  declare readonly status: number;
  declare readonly headers: Headers;

  constructor(
    status: number,
    problem: ProblemDetails,
    headers: Headers,
    message = describe(status, problem, headers),
  ) {
    super(message, { status, problem, headers });
  }
}

function describe(status: number, problem: ProblemDetails, headers: Headers): string {
  const what = problem.detail ?? problem.title ?? 'the server answered with an error';
  const requestId = headers.get('request-id') ?? problem.request_id;
  return `${status}${problem.code ? ` ${problem.code}` : ''}: ${what}${requestId ? ` (request ${requestId})` : ''}`;
}

/** 400: the request is malformed or does not match the schema; see `errors`. */
export class BadRequestError extends APIError {
  static override readonly kind: string = 'BadRequestError';
}
/** 401: no valid credentials (missing, malformed, expired or revoked token). */
export class AuthenticationError extends APIError {
  static override readonly kind: string = 'AuthenticationError';
}
/**
 * 401 `mfa_required`: the password was right, but the user has MFA on. `mfaChallenge.token` and a
 * code of the authenticator app (or a recovery code) go to `meridian.mfa.verify(...)`, which
 * answers the session that `auth.login` would have, until `mfaChallenge.expires_at`.
 */
export class MfaRequiredError extends AuthenticationError {
  static override readonly kind: string = 'MfaRequiredError';

  constructor(
    status: number,
    problem: ProblemDetails,
    headers: Headers,
    readonly mfaChallenge: MfaChallenge,
  ) {
    super(status, problem, headers);
  }
}
/** 403: the credentials lack a scope, or a cookie session sent no CSRF token. */
export class PermissionDeniedError extends APIError {
  static override readonly kind: string = 'PermissionDeniedError';
}
/** 404: the resource does not exist, or lives on a site you cannot see. */
export class NotFoundError extends APIError {
  static override readonly kind: string = 'NotFoundError';
}
/** 409: the request conflicts with the current state (see `code`). */
export class ConflictError extends APIError {
  static override readonly kind: string = 'ConflictError';
}
/** 412: the `If-Match` ETag is stale; read the resource again and retry. */
export class PreconditionFailedError extends APIError {
  static override readonly kind: string = 'PreconditionFailedError';
}
/** 422: well-formed, but cannot be carried out as asked (see `code`). */
export class UnprocessableEntityError extends APIError {
  static override readonly kind: string = 'UnprocessableEntityError';
}
/** 429: too many requests. `retryAfter` says how many seconds to wait, when the server said. */
export class RateLimitError extends APIError {
  static override readonly kind: string = 'RateLimitError';
  /** Seconds to wait before trying again, from `Retry-After`. */
  readonly retryAfter: number | undefined;

  constructor(status: number, problem: ProblemDetails, headers: Headers, message?: string) {
    super(status, problem, headers, message);
    const ms = parseRetryAfter(headers.get('retry-after'));
    this.retryAfter = ms === undefined ? undefined : Math.ceil(ms / 1000);
  }
}
/** 5xx: the server failed. Requests that are safe to repeat were already retried. */
export class InternalServerError extends APIError {
  static override readonly kind: string = 'InternalServerError';
}

/** No response arrived: DNS, refused connection, reset, CORS, offline. `cause` holds the reason. */
export class APIConnectionError extends MeridianError {
  static override readonly kind: string = 'APIConnectionError';
}

/** No response arrived within `timeout` milliseconds. */
export class TimeoutError extends APIConnectionError {
  static override readonly kind: string = 'TimeoutError';
  constructor(
    readonly timeout: number,
    what: string,
  ) {
    super(
      `${what} timed out after ${timeout} ms; raise the \`timeout\` option (per client or per call) if the server is slow.`,
    );
  }
}

/** The caller's `AbortSignal` fired; `cause` is the signal's reason. */
export class UserAbortError extends MeridianError {
  static override readonly kind: string = 'UserAbortError';
  constructor(cause?: unknown) {
    super('The request was aborted by its AbortSignal.', { cause });
  }
}

/** A webhook did not verify: missing headers, stale timestamp, wrong secret or altered body. */
export class WebhookVerificationError extends MeridianError {
  static override readonly kind: string = 'WebhookVerificationError';
}

const CLASS_BY_STATUS: Record<number, typeof APIError> = {
  400: BadRequestError,
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  412: PreconditionFailedError,
  422: UnprocessableEntityError,
  429: RateLimitError,
};

/** Reads the problem fields from a parsed body, ignoring anything of the wrong type. */
function problemFrom(body: unknown): ProblemDetails {
  if (typeof body === 'string') return body.trim() ? { detail: body.trim().slice(0, 500) } : {};
  if (typeof body !== 'object' || body === null) return {};
  const record = body as Record<string, unknown>;
  const problem: ProblemDetails = {};
  for (const key of ['type', 'title', 'detail', 'code', 'request_id'] as const) {
    if (typeof record[key] === 'string') problem[key] = record[key];
  }
  if (typeof record.status === 'number') problem.status = record.status;
  if (Array.isArray(record.errors)) problem.errors = record.errors as ValidationIssue[];
  return problem;
}

/** The `mfa_challenge` of an `mfa_required` answer, when it is there and well-typed. */
function mfaChallengeFrom(body: unknown): MfaChallenge | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const challenge = (body as { mfa_challenge?: unknown }).mfa_challenge;
  if (typeof challenge !== 'object' || challenge === null) return undefined;
  const { token, expires_at } = challenge as Record<string, unknown>;
  return typeof token === 'string' && typeof expires_at === 'string' ? { token, expires_at } : undefined;
}

/**
 * The error for an error response: its status picks the class (and a 401 `mfa_required` with its
 * challenge, `MfaRequiredError`), its body fills the fields.
 */
export function errorFromResponse(status: number, body: unknown, headers: Headers): APIError {
  const problem = problemFrom(body);
  const mfaChallenge = status === 401 && problem.code === 'mfa_required' ? mfaChallengeFrom(body) : undefined;
  if (mfaChallenge) return new MfaRequiredError(status, problem, headers, mfaChallenge);
  const ErrorClass = CLASS_BY_STATUS[status] ?? (status >= 500 ? InternalServerError : APIError);
  return new ErrorClass(status, problem, headers);
}

/**
 * Errors as RFC 9457 problem details. Handlers throw `ApiError`s made by the factories below;
 * the error handler (error-handler.ts) is the one place that turns anything thrown into a
 * `application/problem+json` response.
 */
export interface FieldIssue {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail: string,
    readonly errors?: FieldIssue[],
    readonly headers: Record<string, string> = {},
    /** RFC 9457 extension members: more fields of the body (e.g. a sign-in's `mfa_challenge`). */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'ApiError';
  }
}

export const problems = {
  validation: (errors: FieldIssue[], detail = 'The request does not match the schema: see errors.') =>
    new ApiError(400, 'validation_failed', 'Invalid request', detail, errors),
  badRequest: (code: string, detail: string) => new ApiError(400, code, 'Bad request', detail),
  unauthenticated: (
    code = 'unauthenticated',
    detail = 'Send a valid token as Authorization: Bearer <token>, or sign in.',
  ) => new ApiError(401, code, 'Authentication required', detail),
  /** A token that is not one Meridian issued, or not of the kind this place takes. */
  invalidToken: (expected: string, code = 'invalid_token') =>
    new ApiError(401, code, 'Authentication required', `The token is not a valid ${expected}.`),
  tokenExpired: (token: string, remedy: string) =>
    new ApiError(401, 'token_expired', 'Authentication required', `The ${token} has expired; ${remedy}.`),
  forbidden: (code: string, detail: string) => new ApiError(403, code, 'Forbidden', detail),
  notFound: (what: string, id: string) =>
    new ApiError(404, 'not_found', 'Not found', `No ${what} ${id} exists, or you cannot see it.`),
  /** A device's report (inventory, screenshot) its agent has not sent yet. */
  notReported: (code: string, deviceId: string, what: string) =>
    new ApiError(404, code, 'Not found', `The agent of device ${deviceId} has not ${what} yet.`),
  routeNotFound: (method: string, path: string) =>
    new ApiError(
      404,
      'route_not_found',
      'Not found',
      `There is no ${method} ${path} in this API; see /docs.`,
    ),
  methodNotAllowed: (method: string, allowed: readonly string[]) =>
    new ApiError(
      405,
      'method_not_allowed',
      'Method not allowed',
      `${method} is not supported here; use ${allowed.join(' or ')}.`,
    ),
  conflict: (code: string, detail: string) => new ApiError(409, code, 'Conflict', detail),
  /** A name that must be unique (in its scope) is already used. */
  nameTaken: (code: string, what: string, name: string, scope = '') =>
    new ApiError(409, code, 'Conflict', `A ${what} named ${name} already exists${scope}.`),
  preconditionFailed: (sent: string, current: string) =>
    new ApiError(
      412,
      'precondition_failed',
      'Precondition failed',
      `If-Match ${sent} does not match the current ETag ${current}; read the resource again and retry.`,
    ),
  payloadTooLarge: (what: string, limit: string) =>
    new ApiError(413, 'payload_too_large', 'Payload too large', `${what} are limited to ${limit}.`),
  unsupportedMediaType: (types: readonly string[]) =>
    new ApiError(
      415,
      'unsupported_media_type',
      'Unsupported media type',
      `Send the request body as ${types.join(' or ')}.`,
    ),
  unprocessable: (code: string, detail: string, errors?: FieldIssue[]) =>
    new ApiError(422, code, 'Unprocessable request', detail, errors),
  /** A site or device named in the request body (not the URL) that does not exist for the caller. */
  unknownReference: (
    what: 'site' | 'device' | 'notification channel' | 'webhook' | 'monitored process' | 'role',
    ids: readonly string[],
  ) =>
    new ApiError(
      422,
      `unknown_${what.replace(' ', '_')}`,
      'Unprocessable request',
      `No ${what} ${ids.join(', ')} exists, or you cannot see it.`,
    ),
  expiryInPast: () =>
    new ApiError(422, 'expiry_in_past', 'Unprocessable request', 'expires_at must be in the future.'),
  tooManyRequests: (retryAfterSeconds: number) =>
    new ApiError(
      429,
      'rate_limited',
      'Too many requests',
      `Too many requests; retry after ${retryAfterSeconds} seconds.`,
      undefined,
      {
        'Retry-After': String(retryAfterSeconds),
      },
    ),
  /** The server takes no new requests now (GET /ready): shutting down, or its database is unreachable. */
  unavailable: (code: 'shutting_down' | 'database_unavailable', detail: string) =>
    new ApiError(503, code, 'Service unavailable', detail),
  internal: () =>
    new ApiError(
      500,
      'internal_error',
      'Internal server error',
      'Something went wrong on our side; the request ID helps us find it.',
    ),
};

/** The spec bounds a field issue's message (500 characters); long ones (an enum of every scope) are cut. */
const MAX_ISSUE_MESSAGE = 500;

function bounded(issue: FieldIssue): FieldIssue {
  if (issue.message.length <= MAX_ISSUE_MESSAGE) return issue;
  return { ...issue, message: `${issue.message.slice(0, MAX_ISSUE_MESSAGE - 1)}…` };
}

export function problemBody(error: ApiError, requestId: string) {
  return {
    ...error.extensions,
    type: `/docs/guides/errors#${error.code}`,
    title: error.title,
    status: error.status,
    detail: error.detail,
    code: error.code,
    request_id: requestId,
    ...(error.errors ? { errors: error.errors.map(bounded) } : {}),
  };
}

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
  forbidden: (code: string, detail: string) => new ApiError(403, code, 'Forbidden', detail),
  notFound: (what: string, id: string) =>
    new ApiError(404, 'not_found', 'Not found', `No ${what} ${id} exists, or you cannot see it.`),
  conflict: (code: string, detail: string) => new ApiError(409, code, 'Conflict', detail),
  preconditionFailed: (sent: string, current: string) =>
    new ApiError(
      412,
      'precondition_failed',
      'Precondition failed',
      `If-Match ${sent} does not match the current ETag ${current}; read the resource again and retry.`,
    ),
  unprocessable: (code: string, detail: string, errors?: FieldIssue[]) =>
    new ApiError(422, code, 'Unprocessable request', detail, errors),
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
};

export function problemBody(error: ApiError, requestId: string) {
  return {
    type: `/docs/guides/errors#${error.code}`,
    title: error.title,
    status: error.status,
    detail: error.detail,
    code: error.code,
    request_id: requestId,
    ...(error.errors ? { errors: error.errors } : {}),
  };
}

/**
 * Turns rows of the generated table into HTTP responses: the declared status, the declared
 * media type as `Content-Type` (`application/problem+json` for errors) and the declared
 * headers that have examples (`Request-Id`, `ETag`, …), exactly as the spec shows them.
 */
import { HttpResponse } from 'msw';
import { mockOperations } from './generated/handlers.gen';
import type { JsonValue, MockResponse } from './mock-operation';
import type { ErrorStatus, OperationId } from './operations';

/** The response a row describes; `body` replaces the example body (same media type). */
export function toHttpResponse(
  response: MockResponse,
  status: number,
  body: JsonValue = response.body,
): HttpResponse<string> {
  const headers = new Headers(response.headers);
  if (response.contentType === null) return new HttpResponse(null, { status, headers });
  headers.set('Content-Type', response.contentType);
  // JSON media types carry the example as JSON; text ones (event streams, NDJSON) as the text it is.
  const json = /[/+]json$/.test(response.contentType) || typeof body !== 'string';
  return new HttpResponse(json ? JSON.stringify(body) : body, { status, headers });
}

/**
 * The spec's example problem for one of an operation's declared error statuses, for overrides:
 * `createHandlers({ overrides: { getDevice: () => errorResponse('getDevice', 404) } })`.
 * Throws for a status the operation does not declare (reachable from JavaScript or through a
 * cast), because a mock answering what the real API never can would make tests lie.
 */
export function errorResponse<Id extends OperationId>(
  operationId: Id,
  status: ErrorStatus<Id>,
): HttpResponse<string> {
  const errors: Readonly<Record<string, MockResponse>> = mockOperations[operationId].errors;
  const response = errors[String(status)];
  if (response === undefined) {
    throw new Error(
      `${operationId} does not declare a ${String(status)} response (it declares ${Object.keys(errors).join(', ')})`,
    );
  }
  return toHttpResponse(response, Number(status));
}

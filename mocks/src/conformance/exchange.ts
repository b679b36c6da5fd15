/**
 * One request and its response, checked against the spec: the response of an operation of the
 * spec must conform to it (response-validator.ts); a route outside the spec must answer 404 or
 * 405 with a problem document. The tests' checked fetch (test/support/checked-fetch.ts) and the
 * conformance runner both check every exchange this way.
 */
import type { ResponseValidator } from './response-validator';
import type { SpecModel, SpecOperation } from './spec-model';

export interface CheckedExchange {
  /** The operation the request was for, undefined for a route outside the spec. */
  operation?: SpecOperation;
  /** What breaks the spec; empty when the response conforms. */
  violations: string[];
  /** The body as text ('' for an event stream, which stays open for the caller). */
  body: string;
  /** The problem's `code`, for a problem document. */
  code?: string;
}

export async function checkExchange(
  model: SpecModel,
  validator: ResponseValidator,
  request: Request,
  response: Response,
): Promise<CheckedExchange> {
  // An event stream stays open: its headers are checked, its body is the caller's to read.
  const streaming = (response.headers.get('Content-Type') ?? '').startsWith('text/event-stream');
  const body = streaming ? '' : await response.clone().text();
  const operation = model.findOperation(request.method, new URL(request.url).pathname);
  const violations = operation
    ? validator.responseViolations(operation, { status: response.status, headers: response.headers, body })
    : unknownRouteViolations(response, body);
  return { operation, violations, body, ...(violations.length === 0 ? problemCode(response, body) : {}) };
}

/** The `code` of a problem document (already validated against the spec). */
function problemCode(response: Response, body: string): { code?: string } {
  if (!(response.headers.get('Content-Type') ?? '').startsWith('application/problem+json')) return {};
  return { code: (JSON.parse(body) as { code: string }).code };
}

/** Routes outside the spec must still answer with a problem document (404 or 405). */
function unknownRouteViolations(response: Response, body: string): string[] {
  if (response.status !== 404 && response.status !== 405)
    return [`a route outside the spec answered ${response.status}`];
  if (!(response.headers.get('Content-Type') ?? '').startsWith('application/problem+json'))
    return ['a route outside the spec answered without problem+json'];
  return body.includes('"request_id"') ? [] : ['the problem document has no request_id'];
}

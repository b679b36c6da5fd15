/**
 * MSW handlers for every operation of the spec, answering with the spec's examples, so SDK
 * users can test their own code without a server. One handler per operation, tried in the
 * generated order (literal paths before templated ones).
 */
import { http, type HttpHandler, type HttpResponseResolver, type PathParams } from 'msw';
import { mockOperations } from './generated/handlers.gen';
import type { JsonValue, MockOperation } from './mock-operation';
import type { OperationId } from './operations';
import { toHttpResponse } from './responses';

export interface CreateHandlersOptions {
  /**
   * Where the API is served, e.g. `http://localhost:8080`; the spec's paths (`/v1/…`) are
   * appended. Defaults to `*`, which matches any origin: the SDK's base URL then does not
   * matter, which is what most tests want. Pass an origin when other handlers of yours must
   * not be shadowed.
   */
  baseUrl?: string;
  /** Your own resolver for some operations, e.g. `{ getDevice: () => errorResponse('getDevice', 404) }`. */
  overrides?: Partial<Record<OperationId, HttpResponseResolver>>;
}

/**
 * A request for one resource (a path ending in a parameter, such as `/v1/devices/:device_id`)
 * gets the example back with the requested `id`, so code that fetches several ids sees
 * several resources. The id is echoed as sent, even when it would not match the spec's pattern.
 */
function exampleBodyFor(operation: MockOperation, params: PathParams): JsonValue {
  const body = operation.success.body;
  const lastSegment = operation.path.split('/').at(-1) ?? '';
  const requested = lastSegment.startsWith(':') ? params[lastSegment.slice(1)] : undefined;
  if (
    typeof requested !== 'string' ||
    body === null ||
    typeof body !== 'object' ||
    Array.isArray(body) ||
    !('id' in body)
  )
    return body;
  return { ...body, id: requested };
}

export function createHandlers({ baseUrl = '*', overrides = {} }: CreateHandlersOptions = {}): HttpHandler[] {
  const prefix = baseUrl.replace(/\/+$/, '');
  return (Object.entries(mockOperations) as [OperationId, MockOperation][]).map(([operationId, operation]) =>
    http[operation.method](
      `${prefix}${operation.path}`,
      overrides[operationId] ??
        (({ params }) =>
          toHttpResponse(operation.success, operation.success.status, exampleBodyFor(operation, params))),
    ),
  );
}

/** The handlers with every default: any origin, no overrides. */
export const handlers: HttpHandler[] = createHandlers();

/**
 * Re-emits an OpenAPI document from the server's ts-rest contract with zod-openapi: what the
 * server actually enforces, in the spec's own language, so it can be compared with the spec.
 */
import { createDocument, type ZodOpenApiPathsObject } from 'zod-openapi';
import { contract } from '@meridian/server/contract';

interface Route {
  method: string;
  path: string;
  pathParams?: unknown;
  query?: unknown;
  headers?: unknown;
  body?: unknown;
  responses: Record<string, unknown>;
  metadata: { operationId: string };
}

function responseObject(status: string, response: unknown) {
  if (response && typeof response === 'object' && 'contentType' in response) {
    const other = response as { contentType: string; body: unknown };
    return { description: status, content: { [other.contentType]: { schema: other.body } } };
  }
  if (response && typeof response === 'object' && '_zod' in response)
    return { description: status, content: { 'application/json': { schema: response } } };
  return { description: status };
}

export function contractDocument() {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const group of Object.values(contract)) {
    for (const route of Object.values(group) as Route[]) {
      const path = route.path.replace(/:([a-z_]+)/g, '{$1}');
      const requestParams = Object.fromEntries(
        Object.entries({ path: route.pathParams, query: route.query, header: route.headers }).filter(
          ([, schema]) => schema !== undefined,
        ),
      );
      paths[path] ??= {};
      paths[path][route.method.toLowerCase()] = {
        operationId: route.metadata.operationId,
        requestParams,
        ...(route.body && typeof route.body === 'object'
          ? { requestBody: { content: { 'application/json': { schema: route.body } } } }
          : {}),
        responses: Object.fromEntries(
          Object.entries(route.responses).map(([status, response]) => [
            status,
            responseObject(status, response),
          ]),
        ),
      };
    }
  }
  return createDocument({
    openapi: '3.1.0',
    info: { title: 'Meridian contract', version: '1' },
    paths: paths as ZodOpenApiPathsObject,
  });
}

/**
 * Writes mocks/src/generated/handlers.gen.ts: for every operation of the bundled spec, the
 * example responses the MSW handlers serve (see mocks/src/mock-operation.ts for the shape).
 *
 * Our own generator rather than `@mswjs/source`: its `fromOpenApi` (0.5) mis-reads OpenAPI 3.1
 * (examples arrays, missing nullable fields, 501 for POST, duplicate handlers). The output
 * is data only — the handlers themselves are hand-written in mocks/src — and it is byte-stable:
 * no timestamps, and operations in a fixed order, so the drift check (`npm run
 * generate:check`) only fails when the spec changed.
 */
import { readFileSync } from 'node:fs';
import { GENERATED_HEADER } from '../../scripts/lib/paths';
import { writeGeneratedFile } from '../../scripts/lib/write-generated';
import type { JsonValue, MockOperation, MockResponse } from '../src/mock-operation';
import {
  assertMethod,
  type HeaderObject,
  type LocatedOperation,
  type MediaTypeObject,
  type OpenApiDocument,
  operations,
  type ResponseObject,
} from '../../scripts/lib/openapi';
import {
  type Example,
  headerExample,
  ownExample,
  referenceResolver,
  schemaExample,
} from './openapi-examples';

/** The methods MSW handlers can answer; any other fails the generation. */
const METHODS = [
  'get',
  'put',
  'post',
  'patch',
  'delete',
  'head',
  'options',
] as const satisfies readonly MockOperation['method'][];

type Resolve = ReturnType<typeof referenceResolver>;

/**
 * MSW answers with the first handler that matches, and `/v1/users/:user_id` also matches
 * `/v1/users/me`; OpenAPI says the literal path wins. So paths are ordered segment by segment
 * with a literal segment before a `{param}` one, alphabetically otherwise.
 */
function comparePaths(a: string, b: string): number {
  const left = a.split('/');
  const right = b.split('/');
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const [x, y] = [left[i]!, right[i]!];
    if (x === y) continue;
    const [xParam, yParam] = [x.startsWith('{'), y.startsWith('{')];
    if (xParam !== yParam) return xParam ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return left.length - right.length;
}

function toMswPath(path: string): string {
  return path.replace(/\{([^}]+)\}/g, ':$1');
}

function headerValues(response: ResponseObject, where: string, resolve: Resolve): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, raw] of Object.entries(response.headers ?? {})) {
    const header = resolve<HeaderObject>(raw);
    const example = headerExample(header, resolve);
    if (example.found)
      headers[name] = typeof example.value === 'string' ? example.value : JSON.stringify(example.value);
    else if (header.required) throw new Error(`${where}: required header ${name} has no example to serve`);
  }
  return headers;
}

/**
 * The example body of a response's (first) media type; `fallback` supplies one when the
 * response itself has none. A response without content has no body.
 */
function responseBody(
  response: ResponseObject,
  where: string,
  resolve: Resolve,
  fallback?: (mediaType: MediaTypeObject) => Example,
): Omit<MockResponse, 'headers'> {
  const [contentType, mediaType] = Object.entries(response.content ?? {})[0] ?? [];
  if (contentType === undefined || mediaType === undefined) return { contentType: null, body: null };
  const own = ownExample(mediaType, resolve);
  const example = own.found || fallback === undefined ? own : fallback(mediaType);
  if (!example.found) throw new Error(`${where}: ${contentType} has no example to serve`);
  return { contentType, body: example.value as JsonValue };
}

/**
 * For an error response without an example of its own: the schema's example (the Problem
 * schema's), with `status` set to the declared one so that the body still tells the truth.
 */
function problemFromSchema(status: number, resolve: Resolve): (mediaType: MediaTypeObject) => Example {
  return (mediaType) => {
    const example = schemaExample(mediaType.schema, resolve);
    return example.found
      ? { found: true, value: { ...(example.value as Record<string, unknown>), status } }
      : example;
  };
}

function mockOperation(located: LocatedOperation, resolve: Resolve): MockOperation {
  assertMethod(located, METHODS, 'generate-msw-handlers');
  const { operationId, method, path } = located;
  const declared = Object.entries(located.responses);
  const successes = declared
    .filter(([status]) => /^2\d\d$/.test(status))
    .sort(([a], [b]) => Number(a) - Number(b));
  const [successStatus, successResponse] = successes[0] ?? [];
  if (successStatus === undefined || successResponse === undefined)
    throw new Error(`${operationId}: declares no 2xx response`);

  const where = (status: string): string => `${operationId} ${status}`;
  const errors = declared
    .filter(([status]) => /^[45]\d\d$/.test(status))
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([status, response]): [string, MockResponse] => [
      status,
      {
        headers: headerValues(response, where(status), resolve),
        ...responseBody(response, where(status), resolve, problemFromSchema(Number(status), resolve)),
      },
    ]);
  return {
    method,
    path: toMswPath(path),
    success: {
      status: Number(successStatus),
      headers: headerValues(successResponse, where(successStatus), resolve),
      ...responseBody(successResponse, where(successStatus), resolve),
    },
    errors: Object.fromEntries(errors),
  };
}

export function generateMswHandlers(bundledSpecPath: string, outPath: string): void {
  const document = JSON.parse(readFileSync(bundledSpecPath, 'utf8')) as OpenApiDocument;
  const resolve = referenceResolver(document);
  const table = Object.fromEntries(
    operations(document)
      .sort((a, b) => comparePaths(a.path, b.path))
      .map((located) => [located.operationId, mockOperation(located, resolve)]),
  );
  const source = [
    GENERATED_HEADER,
    "import type { MockOperation } from '../mock-operation';",
    '',
    '/** Every operation of the spec with its example responses, in the order MSW should try them. */',
    `export const mockOperations = ${JSON.stringify(table, null, 2)} as const satisfies Record<string, MockOperation>;`,
    '',
  ].join('\n');
  writeGeneratedFile(outPath, source);
}

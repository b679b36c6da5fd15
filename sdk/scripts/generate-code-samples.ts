/**
 * Adds `x-codeSamples` to every operation of the bundled spec (openapi/dist/openapi.json: what
 * the server serves at /openapi.json and the docs render with Scalar, so any OpenAPI tool reading
 * the published spec shows them too). Each operation gets two samples:
 * - TypeScript: the operation's method on a `Meridian` client, named from the resources that
 *   sdk/scripts/generate-resources.ts has just written (so a sample cannot name a method the SDK
 *   does not have), with the spec's examples as arguments; test/sdk-code-samples.test.ts
 *   type-checks every one against the SDK;
 * - curl: the same request with the same example values.
 * The arguments are the required ones only: path parameters, the body, and the query object when
 * a query parameter is required (an optional argument before one of these is passed `undefined`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import {
  type CodeSample,
  type LocatedOperation,
  type OpenApiDocument,
  operations,
  type ParameterObject,
  type RequestBodyObject,
  resolveRef,
  type SchemaObject,
  securityOf,
} from '../../scripts/lib/openapi';
import type { Method, Resource } from './generate-resources';

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const BASE_URL = 'http://localhost:8080';

/** A string as a single-quoted TypeScript literal. */
const quote = (text: string): string =>
  `'${JSON.stringify(text).slice(1, -1).replaceAll('\\"', '"').replaceAll("'", "\\'")}'`;

/** A JSON value as a TypeScript literal, on one line when short (it follows a call, so leave room). */
function literal(value: unknown, indent = ''): string {
  if (typeof value === 'string') return quote(value);
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const inner = `${indent}  `;
  const isArray = Array.isArray(value);
  const entries = isArray
    ? value.map((item) => literal(item, inner))
    : Object.entries(value).map(
        ([key, item]) => `${IDENTIFIER.test(key) ? key : quote(key)}: ${literal(item, inner)}`,
      );
  if (entries.length === 0) return isArray ? '[]' : '{}';
  const flat = isArray ? `[${entries.join(', ')}]` : `{ ${entries.join(', ')} }`;
  if (indent.length + flat.length <= 60 && !flat.includes('\n')) return flat;
  return `${isArray ? '[' : '{'}\n${entries.map((entry) => `${inner}${entry},`).join('\n')}\n${indent}${isArray ? ']' : '}'}`;
}

/** The file a sample reads a binary body from, or writes a binary answer to: `image/jpeg` → `image.jpeg`. */
const fileFor = (mediaType: string): string => mediaType.replace('/', '.');

/** A string in single quotes for a POSIX shell. */
const shellQuote = (text: string): string => `'${text.replaceAll("'", "'\\''")}'`;

/** The first example the spec gives for a parameter (itself, then its schema), or undefined. */
function parameterExample(spec: OpenApiDocument, parameter: ParameterObject): unknown {
  if (parameter.example !== undefined) return parameter.example;
  const named = Object.values(parameter.examples ?? {})[0];
  if (named !== undefined) return resolveRef(spec, named).value;
  const schema = resolveRef<SchemaObject>(spec, parameter.schema);
  return schema.examples?.[0] ?? schema.example ?? schema.default ?? schema.enum?.[0];
}

function bodyExample(spec: OpenApiDocument, operationId: string, body: RequestBodyObject): unknown {
  const media = Object.values(body.content)[0];
  const named = Object.values(media?.examples ?? {})[0];
  const example =
    media?.example ??
    (named === undefined ? undefined : resolveRef(spec, named).value) ??
    (media?.schema ? resolveRef<SchemaObject>(spec, media.schema).examples?.[0] : undefined);
  if (example === undefined)
    throw new Error(`generate-code-samples: ${operationId}'s request body has no example`);
  return example;
}

interface Request {
  located: LocatedOperation;
  path: Record<string, unknown>;
  /** The JSON body, or the media type of a binary one. */
  body?: { json: unknown } | { binary: string };
  query?: Record<string, unknown>;
}

function exampleRequest(spec: OpenApiDocument, located: LocatedOperation): Request {
  const path = Object.fromEntries(
    located.parameters
      .filter((parameter) => parameter.in === 'path')
      .map((parameter) => {
        const example = parameterExample(spec, parameter);
        if (example === undefined)
          throw new Error(
            `generate-code-samples: ${located.operationId}'s path parameter ${parameter.name} has no example`,
          );
        return [parameter.name, example];
      }),
  );
  const required = located.parameters.filter((parameter) => parameter.in === 'query' && parameter.required);
  const query = Object.fromEntries(
    required.map((parameter) => {
      const example = parameterExample(spec, parameter);
      if (example === undefined)
        throw new Error(
          `generate-code-samples: ${located.operationId}'s required query parameter ${parameter.name} has no example`,
        );
      return [parameter.name, example];
    }),
  );
  const body = located.requestBody;
  const mediaType = body ? Object.keys(body.content)[0] : undefined;
  return {
    located,
    path,
    ...(body && mediaType
      ? {
          body: mediaType.endsWith('json')
            ? { json: bodyExample(spec, located.operationId, body) }
            : { binary: mediaType },
        }
      : {}),
    ...(required.length > 0 ? { query } : {}),
  };
}

/** The credentials a sample sends: none, the device's access token, or an operator's token. */
function credentials(spec: OpenApiDocument, located: LocatedOperation): 'none' | 'agent' | 'operator' {
  const security = securityOf(located.operation, spec);
  return security.public ? 'none' : security.agent ? 'agent' : 'operator';
}

function singularName(property: string): string {
  const singular = property.replace(/ies$/, 'y').replace(/(?<![s])s$/, '');
  return singular === property ? 'item' : singular;
}

function typescriptSample(
  spec: OpenApiDocument,
  request: Request,
  resource: Resource,
  method: Method,
): string {
  const { located } = request;
  const token = {
    none: [],
    agent: ["  token: process.env.MERIDIAN_AGENT_TOKEN, // the device's access token (mat_…)"],
    operator: ['  token: process.env.MERIDIAN_TOKEN, // an API token (mtk_…) or a session token (mst_…)'],
  }[credentials(spec, located)];
  const binary = request.body && 'binary' in request.body ? request.body.binary : undefined;
  // The path parameters come first, in the order of the path template (as generate-resources orders them).
  const pathNames = [...located.path.matchAll(/\{([^{}]+)\}/g)].map(([, name]) => name!);
  const values = method.args
    .filter((arg) => arg.name !== 'options')
    .map((arg, i) => {
      if (i < pathNames.length) return literal(request.path[pathNames[i]!]);
      if (arg.name === 'body' && request.body)
        return 'json' in request.body ? literal(request.body.json) : 'body';
      if (arg.name === 'query' && request.query) return literal(request.query);
      return undefined;
    });
  const last = values.findLastIndex((value) => value !== undefined);
  const call = `meridian.${resource.property}.${method.name}(${values
    .slice(0, last + 1)
    .map((value) => value ?? 'undefined')
    .join(', ')})`;
  const answers = Object.entries(located.responses).some(
    ([status, response]) => status.startsWith('2') && response.content !== undefined,
  );
  const use =
    method.kind === 'list'
      ? [
          `for await (const ${singularName(resource.property)} of ${call}) {`,
          `  console.log(${singularName(resource.property)});`,
          '}',
        ]
      : method.kind === 'stream'
        ? [`for await (const event of ${call}) {`, '  console.log(event);', '}']
        : method.kind === 'download'
          ? [
              `const response = await ${call};`,
              '// The file goes to disk as it arrives, never whole in memory.',
              `await writeFile('${fileFor('application/octet-stream')}', response.body!);`,
            ]
          : answers
            ? [`const result = await ${call};`, 'console.log(result);']
            : [`await ${call};`];
  return [
    "import Meridian from '@meridian/sdk';",
    ...(binary ? ["import { openAsBlob } from 'node:fs';"] : []),
    ...(method.kind === 'download' ? ["import { writeFile } from 'node:fs/promises';"] : []),
    '',
    'const meridian = new Meridian({',
    `  baseUrl: process.env.MERIDIAN_URL ?? '${BASE_URL}',`,
    ...token,
    '});',
    '',
    ...(binary ? [`const body = await openAsBlob('${fileFor(binary)}', { type: '${binary}' });`] : []),
    ...use,
    '',
  ].join('\n');
}

function curlSample(spec: OpenApiDocument, request: Request): string {
  const { located } = request;
  const path = located.path.replace(/\{([^{}]+)\}/g, (_, name: string) =>
    encodeURIComponent(String(request.path[name] ?? name)),
  );
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(request.query ?? {}))
    for (const item of Array.isArray(value) ? value : [value]) query.append(name, String(item));
  const url = `"\${MERIDIAN_URL:-${BASE_URL}}${path}${query.size > 0 ? `?${query}` : ''}"`;
  const streamed = Object.keys(located.responses['200']?.content ?? {}).includes('text/event-stream');
  const method = located.method === 'get' ? '' : ` -X ${located.method.toUpperCase()}`;
  const lines = [`curl${streamed ? ' -N' : ''}${method} ${url}`];
  const auth = credentials(spec, located);
  if (auth !== 'none')
    lines.push(`-H "Authorization: Bearer $${auth === 'agent' ? 'MERIDIAN_AGENT_TOKEN' : 'MERIDIAN_TOKEN'}"`);
  if (request.body && 'json' in request.body)
    lines.push(
      "-H 'Content-Type: application/json'",
      `-d ${shellQuote(JSON.stringify(request.body.json, null, 2))}`,
    );
  if (request.body && 'binary' in request.body)
    lines.push(`-H 'Content-Type: ${request.body.binary}'`, `--data-binary @${fileFor(request.body.binary)}`);
  // A binary answer (an image) goes to a file rather than the terminal.
  const answer = Object.keys(located.responses['200']?.content ?? {})[0];
  if (answer !== undefined && !/json|^text\//.test(answer)) lines.push(`-o ${fileFor(answer)}`);
  return `${lines.join(' \\\n  ')}\n`;
}

/** The samples of every operation, by operationId. */
export function codeSamples(
  spec: OpenApiDocument,
  resources: readonly Resource[],
): Map<string, CodeSample[]> {
  const methods = new Map(
    resources.flatMap((resource) =>
      resource.methods.map((method) => [method.operationId, { resource, method }]),
    ),
  );
  return new Map(
    operations(spec).map((located) => {
      const sdk = methods.get(located.operationId);
      if (!sdk) throw new Error(`generate-code-samples: the SDK has no method for ${located.operationId}`);
      const request = exampleRequest(spec, located);
      return [
        located.operationId,
        [
          {
            lang: 'typescript',
            label: '@meridian/sdk',
            source: typescriptSample(spec, request, sdk.resource, sdk.method),
          },
          { lang: 'shell', label: 'curl', source: curlSample(spec, request) },
        ],
      ];
    }),
  );
}

/** Rewrites the bundled spec with `x-codeSamples` on every operation (as Redocly writes it: 2-space JSON). */
export function addCodeSamples(bundledSpecPath: string, resources: readonly Resource[]): void {
  const spec = JSON.parse(readFileSync(bundledSpecPath, 'utf8')) as OpenApiDocument;
  const samples = codeSamples(spec, resources);
  for (const located of operations(spec))
    located.operation['x-codeSamples'] = samples.get(located.operationId);
  writeFileSync(bundledSpecPath, JSON.stringify(spec, null, 2));
}

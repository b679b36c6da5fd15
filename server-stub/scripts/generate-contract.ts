/**
 * Writes server-stub/src/generated/contract.gen.ts: a ts-rest contract for every operation of
 * the bundled spec — path, method, path/query/header parameters, body, and every declared
 * response status with its schema. The reference implementation is bound to it with
 * @ts-rest/express and `strictStatusCodes`, so a missing handler, or a handler returning a
 * status or body the spec does not declare, does not compile.
 *
 * Each route also carries `metadata` (operationId, tag, required scopes, whether it is public or
 * an agent route) so that authentication and authorisation are read from the spec rather than restated.
 */
import { readFileSync } from 'node:fs';
import {
  assertMethod,
  type LocatedOperation,
  type OpenApiDocument,
  operations,
  type ParameterObject,
  securityOf,
} from '../../scripts/lib/openapi';
import { GENERATED_HEADER } from '../../scripts/lib/paths';
import { writeGeneratedFile } from '../../scripts/lib/write-generated';
import { type JsonSchema, referencedNames, toZod } from './json-schema-to-zod';

/** The methods ts-rest (and @ts-rest/express) can bind; any other fails the generation. */
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** "API Tokens" → "apiTokens": the contract (and SDK) groups operations by tag. */
export function tagKey(tag: string): string {
  const words = tag.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return words
    .map((word, index) =>
      index === 0 ? word.toLowerCase() : word[0]!.toUpperCase() + word.slice(1).toLowerCase(),
    )
    .join('');
}

/**
 * Component schemas in an order where each comes after the ones it uses. A schema may refer to
 * itself (a tree such as DeviceFilterExpression, through object properties); longer cycles fail.
 */
function orderSchemas(schemas: Record<string, JsonSchema>): string[] {
  const ordered: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting')
      throw new Error(`Recursive schemas are not supported: ${[...trail, name].join(' → ')}`);
    state.set(name, 'visiting');
    for (const dependency of [...referencedNames(schemas[name])].sort())
      if (dependency !== name) visit(dependency, [...trail, name]);
    state.set(name, 'done');
    ordered.push(name);
  };
  for (const name of Object.keys(schemas).sort()) visit(name, []);
  return ordered;
}

/** One parameter as a field of its location's zod object. */
function parameterField(parameter: ParameterObject): string {
  // Express lower-cases header names; query and path values arrive as strings.
  const header = parameter.in === 'header';
  let code = toZod(parameter.schema, { coerce: !header });
  if (parameter.schema.default !== undefined) code += `.default(${JSON.stringify(parameter.schema.default)})`;
  else if (!parameter.required) code += '.optional()';
  return `${JSON.stringify(header ? parameter.name.toLowerCase() : parameter.name)}: ${code}`;
}

function parametersObject(
  parameters: ParameterObject[],
  location: 'path' | 'query' | 'header',
): string | undefined {
  const fields = parameters.filter((parameter) => parameter.in === location).map(parameterField);
  // Every operation refuses query parameters it does not declare (a misspelt filter must not
  // answer the unfiltered list), so its query schema is strict, and there even when empty.
  if (location === 'query') return `z.strictObject({ ${fields.join(', ')} })`;
  return fields.length > 0 ? `z.object({ ${fields.join(', ')} })` : undefined;
}

function responsesObject({ operationId, responses }: LocatedOperation): string {
  const entries = Object.entries(responses).map(([status, response]) => {
    if (!/^\d{3}$/.test(status))
      throw new Error(`${operationId}: only numeric statuses are supported, got ${status}`);
    const media = Object.entries(response.content ?? {});
    if (media.length === 0) return `${status}: c.noBody()`;
    if (media.length > 1) throw new Error(`${operationId} ${status}: one media type per response`);
    const [contentType, { schema }] = media[0]!;
    if (!schema) throw new Error(`${operationId} ${status}: response without schema`);
    const body = toZod(schema);
    if (contentType === 'application/problem+json' && body === 'Problem') return `${status}: problem`;
    return contentType === 'application/json'
      ? `${status}: ${body}`
      : `${status}: c.otherResponse({ contentType: ${JSON.stringify(contentType)}, body: ${body} })`;
  });
  return `{ ${entries.join(', ')} }`;
}

function routeSource(spec: OpenApiDocument, located: LocatedOperation): string {
  const { path, method, operation, parameters } = located;
  const lines = [
    `method: ${JSON.stringify(method.toUpperCase())}`,
    `path: ${JSON.stringify(path.replace(/\{([^}]+)\}/g, ':$1'))}`,
    `summary: ${JSON.stringify(operation.summary)}`,
  ];
  const pathParams = parametersObject(parameters, 'path');
  if (pathParams) lines.push(`pathParams: ${pathParams}`);
  lines.push(`query: ${parametersObject(parameters, 'query')}`);
  const headers = parametersObject(parameters, 'header');
  if (headers) lines.push(`headers: ${headers}`);
  if (method !== 'get' && method !== 'delete') {
    const content = located.requestBody?.content ?? {};
    const json = content['application/json'];
    // A body that may also come in another media type (a streamed upload) is not parsed as JSON
    // then: the handler reads it, and the JSON schema applies only when there is a JSON body.
    const alsoOther = Object.keys(content).length > 1;
    lines.push(
      `body: ${json?.schema ? `${toZod(json.schema)}${alsoOther ? '.optional()' : ''}` : 'c.noBody()'}`,
    );
  }
  lines.push(`responses: ${responsesObject(located)}`);
  const idempotent = parameters.some(
    (parameter) => parameter.in === 'header' && parameter.name === 'Idempotency-Key',
  );
  const { public: isPublic, agent, scopes } = securityOf(operation, spec);
  const metadata = {
    operationId: located.operationId,
    tag: operation.tags![0],
    public: isPublic,
    // Agent routes take a device's access token and nothing else; operator routes never take one.
    agent,
    idempotent,
    // The media types the request body may have; other bodies are refused with 415.
    bodyTypes: Object.keys(located.requestBody?.content ?? {}),
    scopes,
  };
  lines.push(`metadata: ${JSON.stringify(metadata)} as const`);
  return `{\n      ${lines.join(',\n      ')},\n    }`;
}

export function contractSource(spec: OpenApiDocument): string {
  const schemas = spec.components?.schemas ?? {};
  const schemaLines = orderSchemas(schemas).map(
    (name) =>
      `export const ${name} = ${toZod(schemas[name]!, { self: name })}.meta({ id: ${JSON.stringify(name)} });`,
  );
  const groups = new Map<string, string[]>();
  for (const located of operations(spec)) {
    assertMethod(located, METHODS, 'generate-contract');
    const tags = located.operation.tags ?? [];
    if (tags.length !== 1) throw new Error(`${located.operationId}: exactly one tag expected`);
    const key = tagKey(tags[0]!);
    const routes = groups.get(key) ?? [];
    routes.push(`    ${located.operationId}: ${routeSource(spec, located)},`);
    groups.set(key, routes);
  }
  const routers = [...groups.entries()].map(([key, routes]) => `  ${key}: {\n${routes.join('\n')}\n  },`);
  return [
    GENERATED_HEADER,
    "import { initContract } from '@ts-rest/core';",
    "import { z } from 'zod';",
    '',
    'const c = initContract();',
    '',
    ...schemaLines,
    '',
    "const problem = c.otherResponse({ contentType: 'application/problem+json', body: Problem });",
    '',
    `export const contract = c.router({\n${routers.join('\n')}\n}, { strictStatusCodes: true });`,
    '',
  ].join('\n');
}

export function generateContract(bundledSpecPath: string, outPath: string): void {
  const spec = JSON.parse(readFileSync(bundledSpecPath, 'utf8')) as OpenApiDocument;
  writeGeneratedFile(outPath, contractSource(spec));
}

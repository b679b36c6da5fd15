/**
 * Writes sdk/src/generated/resources.gen.ts from the bundled spec: a route table with one entry
 * per operation (`'GET /v1/devices/{device_id}'` plus what the spec says about it: accepts
 * `Idempotency-Key`, accepts `If-Match`, paginated) and one resource class per tag with one thin
 * method per operation, typed with hey-api's types.gen.ts and documented with the operation's
 * summary and description. A new operation in the spec needs no hand-written SDK code.
 *
 * Names
 * - Resource: the tag in camelCase (`Devices` → `meridian.devices`, `API Tokens` → `meridian.apiTokens`).
 * - Method: the operationId with the resource noun taken out, in camelCase. The noun is the
 *   tag's words, plural first, then with the last word made singular, matched as whole words of
 *   the camelCase operationId: `listDevices` → `devices.list`, `getDevice` → `devices.get`,
 *   `resetUserPassword` → `users.resetPassword`, `createApiToken` → `apiTokens.create`. When the
 *   noun does not appear the operationId stays whole (`getCurrentUser` → `auth.getCurrentUser`).
 *   An operation may set `x-sdk-method` to choose its name; two operations of a tag that end up
 *   with the same name fail the generation (set `x-sdk-method` on one of them).
 *
 * Arguments, in order: path parameters (positional, in path order), the body (if any), the query
 * object (if the operation has query parameters), then per-call options — with `idempotencyKey`
 * only where the operation accepts `Idempotency-Key`, and `ifMatch` only where it accepts
 * `If-Match`. Other header or cookie parameters go in `options.headers`.
 *
 * Pagination: a GET whose 200 JSON schema has a `data` array and `next_cursor`, and that takes a
 * `cursor` query parameter, returns a `PagePromise` of the array's items.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  assertMethod,
  type LocatedOperation,
  type OpenApiDocument,
  operations,
  type ParameterObject,
  resolveRef,
  type SchemaObject,
} from '../../scripts/lib/openapi';
import { GENERATED_HEADER } from '../../scripts/lib/paths';
import { writeGeneratedFile } from '../../scripts/lib/write-generated';

/** The methods the SDK can send (fetch refuses TRACE); any other fails the generation. */
const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options'] as const;
/** Header parameters that become typed per-call options instead of `options.headers`. */
const OPTION_HEADERS: Record<string, 'idempotencyKey' | 'ifMatch'> = {
  'idempotency-key': 'idempotencyKey',
  'if-match': 'ifMatch',
};
/** Members of `Meridian` (and of a resource) that a generated name must not shadow. */
const CLIENT_MEMBERS = new Set([
  'request',
  'baseUrl',
  'timeout',
  'maxRetries',
  'credentials',
  'webhooks',
  '_call',
  '_list',
  'constructor',
]);
const RESOURCE_MEMBERS = new Set(['constructor', '_client']);

export interface Argument {
  name: string;
  type: string;
  optional: boolean;
  doc: string;
}

export interface Method {
  name: string;
  operationId: string;
  route: string;
  flags: string[];
  args: Argument[];
  call: string;
  returns: string;
  /** What a call gives: one result, a page promise to `for await` over, an event stream, or a file's `Response`. */
  kind: 'call' | 'list' | 'stream' | 'download';
  /** Types of types.gen.ts the signature needs besides the operation's own. */
  extraTypes: string[];
  doc: string[];
}

export interface Resource {
  property: string;
  className: string;
  description: string;
  methods: Method[];
}

/** Words of an identifier or a tag: `resetUserPassword` → reset User Password, `API Tokens` → API Tokens. */
function wordsOf(text: string): string[] {
  return text
    .split(/[^A-Za-z0-9]+/)
    .flatMap((part) => part.split(/(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])/))
    .filter((word) => word.length > 0);
}

const capitalize = (word: string): string => word.charAt(0).toUpperCase() + word.slice(1).toLowerCase();
const camelCase = (words: string[]): string =>
  words.map((word, i) => (i === 0 ? word.toLowerCase() : capitalize(word))).join('');
const pascalCase = (words: string[]): string => words.map(capitalize).join('');

function singular(word: string): string {
  if (/ies$/i.test(word)) return word.replace(/ies$/i, 'y');
  if (/(s|x|z|ch|sh)es$/i.test(word)) return word.replace(/es$/i, '');
  if (/[^s]s$/i.test(word)) return word.slice(0, -1);
  return word;
}

/** The method name of an operation in its tag's resource (see the rule at the top). */
export function methodName(operationId: string, tag: string): string {
  const words = wordsOf(operationId);
  const plural = wordsOf(tag).map((word) => word.toLowerCase());
  const nouns = [plural, [...plural.slice(0, -1), singular(plural.at(-1) ?? '')]];
  for (const noun of nouns) {
    for (let start = 0; noun.length > 0 && start + noun.length <= words.length; start++) {
      if (noun.every((word, i) => words[start + i]!.toLowerCase() === word)) {
        const rest = [...words.slice(0, start), ...words.slice(start + noun.length)];
        return rest.length > 0 ? camelCase(rest) : operationId;
      }
    }
  }
  return operationId;
}

/** The resource property of a tag: `API Tokens` → `apiTokens`. */
export function resourceName(tag: string): string {
  return camelCase(wordsOf(tag));
}

function jsdoc(lines: string[], indent: string): string {
  const body = lines.map((line) => line.replaceAll('*/', '*\\/').trimEnd());
  while (body.length > 0 && body.at(-1) === '') body.pop();
  return [
    `${indent}/**`,
    ...body.map((line) => (line ? `${indent} * ${line}` : `${indent} *`)),
    `${indent} */`,
  ].join('\n');
}

function textLines(text: string | undefined): string[] {
  return text ? text.trim().split('\n') : [];
}

function isPaginated(spec: OpenApiDocument, located: LocatedOperation, query: ParameterObject[]): boolean {
  if (located.method !== 'get' || !query.some((parameter) => parameter.name === 'cursor')) return false;
  const schema = located.responses['200']?.content?.['application/json']?.schema;
  if (!schema) return false;
  const resolved = resolveRef<SchemaObject>(spec, schema);
  const data = resolved.properties?.data
    ? resolveRef<SchemaObject>(spec, resolved.properties.data)
    : undefined;
  const isArray = data?.type === 'array' || (Array.isArray(data?.type) && data.type.includes('array'));
  return isArray && resolved.properties?.next_cursor !== undefined;
}

/**
 * For an operation that answers Server-Sent Events: the type of each event's data, from the
 * media type's `x-sse-data` schema (`unknown` without one). Undefined for other operations.
 */
function streamDataType(located: LocatedOperation): string | undefined {
  const media = located.responses['200']?.content?.['text/event-stream'];
  if (!media) return undefined;
  // The bundler inlines the schema there, keeping its title: the component's name.
  const schema = media['x-sse-data'];
  return schema?.$ref?.split('/').pop() ?? schema?.title ?? 'unknown';
}

/** Whether an operation answers a file (`application/octet-stream`), which a call hands over as the unread `Response`. */
function isDownload(located: LocatedOperation): boolean {
  return Object.entries(located.responses).some(
    ([status, response]) => status.startsWith('2') && 'application/octet-stream' in (response.content ?? {}),
  );
}

/** Makes an optional argument followed by a required one required (`T | undefined`): TypeScript needs it. */
function fixOptionality(args: Argument[]): Argument[] {
  let laterRequired = false;
  return args
    .slice()
    .reverse()
    .map((arg) => {
      if (!arg.optional) laterRequired = true;
      else if (laterRequired) return { ...arg, optional: false, type: `${arg.type} | undefined` };
      return arg;
    })
    .reverse();
}

function buildMethod(spec: OpenApiDocument, located: LocatedOperation, typeNames: Set<string>): Method {
  const { path, method, operation, operationId, parameters } = located;
  const tag = operation.tags![0]!;
  const typeBase = operationId.charAt(0).toUpperCase() + operationId.slice(1);
  for (const suffix of ['Data', 'Response']) {
    if (!typeNames.has(`${typeBase}${suffix}`)) {
      throw new Error(
        `generate-resources: hey-api's types.gen.ts has no ${typeBase}${suffix} for ${operationId}; run hey-api first`,
      );
    }
  }
  const data = `${typeBase}Data`;
  const pathParams = [...path.matchAll(/\{([^{}]+)\}/g)].map(([, name]) => {
    const parameter = parameters.find((p) => p.in === 'path' && p.name === name);
    if (!parameter)
      throw new Error(
        `generate-resources: ${operationId} has {${name}} in its path but no such path parameter`,
      );
    return parameter;
  });
  const query = parameters.filter((parameter) => parameter.in === 'query');
  const optionHeaders = parameters
    .flatMap((parameter) => (parameter.in === 'header' ? [OPTION_HEADERS[parameter.name.toLowerCase()]] : []))
    .filter((o) => o !== undefined);
  const otherHeaders = parameters.filter(
    (parameter) =>
      (parameter.in === 'header' && !OPTION_HEADERS[parameter.name.toLowerCase()]) ||
      parameter.in === 'cookie',
  );
  const paginated = isPaginated(spec, located, query);
  const streamed = streamDataType(located);
  const download = isDownload(located);
  const body = located.requestBody;
  const bodyType = body ? Object.keys(body.content ?? {})[0] : undefined;

  const args: Argument[] = pathParams.map((parameter) => ({
    name: camelCase(wordsOf(parameter.name)),
    type: `${data}['path']['${parameter.name}']`,
    optional: false,
    doc: parameter.description?.trim().split('\n').join(' ') ?? '',
  }));
  if (body) {
    const schema = Object.values(body.content ?? {})[0]?.schema;
    const described =
      body.description ?? (schema ? resolveRef<SchemaObject>(spec, schema).description : undefined);
    // A file (or a JSON body that may instead be a file: an upload, or a link to it): hey-api types
    // a Blob or only the JSON; the method takes any Uploadable, streamed as it is read.
    const orFile = Object.keys(body.content ?? {}).some((type) => type !== 'application/json');
    args.push({
      name: 'body',
      type: `${data}['body']${orFile ? ' | Uploadable' : ''}`,
      optional: body.required !== true,
      doc: described?.trim().split('\n').join(' ') ?? 'The request body.',
    });
  }
  if (query.length > 0) {
    const required = query.some((parameter) => parameter.required);
    args.push({
      name: 'query',
      type: `${data}['query']`,
      optional: !required,
      doc: paginated ? 'Filters, and `limit` per page (the cursor is handled for you).' : 'Query parameters.',
    });
  }
  const optionTypes = [
    'BaseRequestOptions',
    ...(optionHeaders.includes('idempotencyKey') ? ['IdempotencyKeyOption'] : []),
    ...(optionHeaders.includes('ifMatch') ? ['IfMatchOption'] : []),
  ];
  const headerNote =
    otherHeaders.length > 0
      ? ` Send ${otherHeaders.map((p) => `\`${p.name}\` (${p.in})`).join(', ')} in \`options.headers\`.`
      : '';
  args.push({
    name: 'options',
    type: optionTypes.join(' & '),
    optional: true,
    doc: `Per-call options (timeout, retries, signal, headers${optionHeaders.length > 0 ? `, ${optionHeaders.join(', ')}` : ''}).${headerNote}`,
  });

  const callFields = [
    ...(pathParams.length > 0
      ? [
          `path: { ${pathParams.map((parameter, i) => `${/^[A-Za-z_$][\w$]*$/.test(parameter.name) ? parameter.name : `'${parameter.name}'`}: ${args[i]!.name}`).join(', ')} }`,
        ]
      : []),
    ...(body ? ['body'] : []),
    ...(query.length > 0 ? ['query'] : []),
    'options',
  ];
  const flags = [
    ...(optionHeaders.includes('idempotencyKey') ? ['idempotencyKey: true'] : []),
    ...(optionHeaders.includes('ifMatch') ? ['ifMatch: true'] : []),
    ...(paginated ? ['paginated: true'] : []),
    ...(streamed ? ['stream: true'] : []),
    ...(bodyType !== undefined && bodyType !== 'application/json' ? [`contentType: '${bodyType}'`] : []),
    ...(download ? ['download: true'] : []),
  ];
  const route = `${method.toUpperCase()} ${path}`;
  const name = operation['x-sdk-method'] ?? methodName(operationId, tag);
  const doc = [
    ...textLines(operation.summary),
    '',
    ...textLines(operation.description),
    '',
    `\`${route}\` (operation \`${operationId}\`).${download ? ' Resolves to the `Response`, its body unread: stream it (`response.body`) rather than holding the file.' : ''}${paginated ? ' Await it for the first page, or `for await` over it for every item of every page.' : ''}${streamed ? ' `for await` over it for each event as it happens; it reconnects with `Last-Event-ID` if the connection drops.' : ''}`,
    '',
    ...fixOptionality(args).map((arg) => `@param ${arg.name} ${arg.doc}`.trimEnd()),
    ...(operation.deprecated ? ['@deprecated'] : []),
  ];
  return {
    name,
    operationId,
    route,
    flags,
    args: fixOptionality(args),
    call: streamed
      ? `this._client._stream<${streamed}>(routes.${operationId}, { ${callFields.join(', ')} })`
      : `this._client.${paginated ? '_list' : '_call'}(routes.${operationId}, { ${callFields.join(', ')} })`,
    kind: streamed ? 'stream' : paginated ? 'list' : download ? 'download' : 'call',
    returns: streamed
      ? `EventStream<${streamed}>`
      : paginated
        ? `PagePromise<${typeBase}Response['data'][number]>`
        : download
          ? 'APIPromise<Response>'
          : `APIPromise<${typeBase}Response>`,
    extraTypes: streamed && streamed !== 'unknown' ? [streamed] : [],
    doc,
  };
}

function collect(spec: OpenApiDocument, typeNames: Set<string>): Resource[] {
  const declaredTags = (spec.tags ?? []).map((tag) => tag.name);
  const resources = new Map<string, Resource>();
  for (const located of operations(spec)) {
    assertMethod(located, METHODS, 'generate-resources');
    const { operationId } = located;
    const tag = located.operation.tags?.[0];
    if (!tag) throw new Error(`generate-resources: ${operationId} has no tag, so it belongs to no resource`);
    let resource = resources.get(tag);
    if (!resource) {
      const property = resourceName(tag);
      if (CLIENT_MEMBERS.has(property))
        throw new Error(`generate-resources: the tag ${tag} would shadow meridian.${property}`);
      resource = {
        property,
        className: `${pascalCase(wordsOf(tag))}Resource`,
        description: spec.tags?.find((t) => t.name === tag)?.description ?? tag,
        methods: [],
      };
      resources.set(tag, resource);
    }
    const built = buildMethod(spec, located, typeNames);
    if (RESOURCE_MEMBERS.has(built.name))
      throw new Error(`generate-resources: ${operationId} would be named ${built.name}; set x-sdk-method`);
    const clash = resource.methods.find((other) => other.name === built.name);
    if (clash) {
      throw new Error(
        `generate-resources: ${clash.operationId} and ${built.operationId} would both be ${resource.property}.${built.name}; set x-sdk-method on one of them`,
      );
    }
    resource.methods.push(built);
  }
  const order = (tag: string): number =>
    declaredTags.includes(tag) ? declaredTags.indexOf(tag) : declaredTags.length;
  return [...resources.entries()]
    .sort(([a], [b]) => order(a) - order(b) || a.localeCompare(b))
    .map(([, resource]) => resource);
}

function render(resources: Resource[]): string {
  const methods = resources.flatMap((resource) => resource.methods);
  const typeImports = [
    ...new Set(
      methods.flatMap((method) => {
        const base = method.operationId.charAt(0).toUpperCase() + method.operationId.slice(1);
        return [`${base}Data`, `${base}Response`];
      }),
    ),
  ]
    .filter((name) =>
      methods.some(
        (method) => method.args.some((arg) => arg.type.includes(`${name}[`)) || method.returns.includes(name),
      ),
    )
    .concat(methods.flatMap((method) => method.extraTypes))
    .sort();
  const optionImports = ['BaseRequestOptions', 'IdempotencyKeyOption', 'IfMatchOption'].filter((name) =>
    methods.some((method) => method.args.some((arg) => arg.type.includes(name))),
  );
  const out: string[] = [
    GENERATED_HEADER,
    '// The resources of the API (one class per tag, one method per operation) and their route table,',
    '// written by sdk/scripts/generate-resources.ts from openapi/dist/openapi.json.',
    '',
    ...(methods.some((method) => method.returns.startsWith('APIPromise'))
      ? ["import type { APIPromise } from '../meridian-client/api-promise';"]
      : []),
    ...(methods.some((method) => method.returns.startsWith('PagePromise'))
      ? ["import type { PagePromise } from '../meridian-client/pagination';"]
      : []),
    ...(methods.some((method) => method.returns.startsWith('EventStream'))
      ? ["import type { EventStream } from '../meridian-client/streaming';"]
      : []),
    `import type { ${optionImports.join(', ')} } from '../meridian-client/request-options';`,
    "import { APIResource, type OperationClient, type Route } from '../meridian-client/resource';",
    ...(methods.some((method) => method.args.some((arg) => arg.type.includes('Uploadable')))
      ? ["import type { Uploadable } from '../meridian-client/uploads';"]
      : []),
    `import type { ${typeImports.join(', ')} } from './types.gen';`,
    '',
    '/** Every operation of the spec by operationId: its route, and whether it takes Idempotency-Key, If-Match, a cursor. */',
    'export const routes = {',
    ...methods.map(
      (method) =>
        `  ${method.operationId}: { route: '${method.route}'${method.flags.map((flag) => `, ${flag}`).join('')} },`,
    ),
    '} as const satisfies Record<string, Route>;',
  ];
  for (const resource of resources) {
    out.push(
      '',
      jsdoc(textLines(resource.description), ''),
      `export class ${resource.className} extends APIResource {`,
    );
    resource.methods.forEach((method, i) => {
      if (i > 0) out.push('');
      const signature = method.args
        .map((arg) => `${arg.name}${arg.optional ? '?' : ''}: ${arg.type}`)
        .join(', ');
      out.push(
        jsdoc(method.doc, '  '),
        `  ${method.name}(${signature}): ${method.returns} {`,
        `    return ${method.call};`,
        '  }',
      );
    });
    out.push('}');
  }
  out.push(
    '',
    '/** The resources of a `Meridian` client, one per tag of the spec. */',
    'export interface Resources {',
    ...resources.flatMap((resource) => [
      jsdoc(textLines(resource.description), '  '),
      `  readonly ${resource.property}: ${resource.className};`,
    ]),
    '}',
    '',
    '/** The resource classes by property name, for the client to instantiate. */',
    'export const resources: { readonly [K in keyof Resources]: new (client: OperationClient) => Resources[K] } = {',
    ...resources.map((resource) => `  ${resource.property}: ${resource.className},`),
    '};',
    '',
  );
  return out.join('\n');
}

const TABLE_START = '<!-- resources:start (generated by npm run generate) -->';
const TABLE_END = '<!-- resources:end -->';

/** The README's table of resources and methods, so the manual never lags behind the spec. */
function writeResourceTable(readmePath: string, resources: Resource[]): void {
  const readme = readFileSync(readmePath, 'utf8');
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start)
    throw new Error(`generate-resources: ${readmePath} needs the markers ${TABLE_START} and ${TABLE_END}`);
  const rows = resources.map((resource) => {
    const methods = resource.methods.map(
      (method) =>
        `\`${method.name}(${method.args
          .filter((arg) => arg.name !== 'options')
          .map((arg) => `${arg.name}${arg.optional ? '?' : ''}`)
          .join(', ')})\``,
    );
    return `| \`meridian.${resource.property}\` | ${methods.join(', ')} |`;
  });
  const table = ['| resource | methods |', '| --- | --- |', ...rows].join('\n');
  writeFileSync(readmePath, `${readme.slice(0, start + TABLE_START.length)}\n${table}\n${readme.slice(end)}`);
}

/**
 * Reads the bundled spec and writes the resources file next to hey-api's output, and the
 * resource table of the SDK's README when its path is given. Returns the resources written, so
 * other generators (the code samples) name exactly the methods the SDK has.
 */
export function generateResources(
  bundledSpecPath: string,
  outPath: string,
  readmePath?: string,
): readonly Resource[] {
  const spec = JSON.parse(readFileSync(bundledSpecPath, 'utf8')) as OpenApiDocument;
  const typesPath = join(dirname(outPath), 'types.gen.ts');
  if (!existsSync(typesPath))
    throw new Error(`generate-resources: ${typesPath} is missing; run hey-api first`);
  const typeNames = new Set(
    [...readFileSync(typesPath, 'utf8').matchAll(/^export type (\w+)/gm)].map(([, name]) => name!),
  );
  const resources = collect(spec, typeNames);
  writeGeneratedFile(outPath, render(resources));
  if (readmePath !== undefined) writeResourceTable(readmePath, resources);
  return resources;
}

/**
 * The changes of a spec that break its existing users, found by comparing it with a released
 * version (both bundled: openapi/released/<version>.json against openapi/dist/openapi.json):
 * - an operation removed (by method and path);
 * - a parameter, or the request body, that became required, or a new required one;
 * - in what a client sends (parameters, request bodies): a property that became required or is no
 *   longer accepted, a type no longer accepted, an enum value no longer accepted;
 * - in what a client receives (2xx JSON bodies, and webhook payloads): a response or webhook
 *   removed, a property removed or renamed, one no longer always present, a type changed (a new
 *   type, `null` included, is one clients do not expect).
 * Libraries were tried first: openapi-diff 0.24.1 refuses the spec ("Unsupported OpenAPI version:
 * 3.1.0"); api-smart-diff 1.0.6 reads it on Node 20 but classifies a response property whose type
 * changes from string to integer as non-breaking, and takes 5–10 s per comparison.
 */
import {
  type LocatedOperation,
  type OpenApiDocument,
  operations,
  type ParameterObject,
  resolveRef,
  type SchemaObject,
} from './openapi';

type Direction = 'request' | 'response';

interface Compared {
  before: OpenApiDocument;
  after: OpenApiDocument;
  breaks: string[];
  /** `$ref` pairs already compared in one direction, for recursive schemas. */
  seen: Set<string>;
}

/** A schema's `allOf` parts merged into one object schema (their properties and required lists). */
function flatten(document: OpenApiDocument, node: SchemaObject): SchemaObject {
  const schema = resolveRef<SchemaObject>(document, node);
  if (!schema.allOf) return schema;
  const parts = schema.allOf.map((part) => flatten(document, part));
  return {
    ...schema,
    type: 'object',
    properties: Object.assign({}, schema.properties, ...parts.map((part) => part.properties)),
    required: [...(schema.required ?? []), ...parts.flatMap((part) => part.required ?? [])],
  };
}

/** The variants of a `oneOf`/`anyOf` (or the schema alone), resolved and flattened. */
function variants(document: OpenApiDocument, schema: SchemaObject): SchemaObject[] {
  const list = schema.oneOf ?? schema.anyOf;
  return list ? list.map((variant) => flatten(document, variant)) : [schema];
}

/** The JSON types a schema allows (`null` included), or undefined when it does not say. */
function typesOf(document: OpenApiDocument, schema: SchemaObject): Set<string> | undefined {
  const types = new Set<string>();
  for (const variant of variants(document, schema)) {
    const nested = (variant.oneOf ?? variant.anyOf) ? typesOf(document, variant) : undefined;
    if (variant.type !== undefined) for (const type of [variant.type].flat()) types.add(type);
    else if (variant.const === null) types.add('null');
    else if (nested) for (const type of nested) types.add(type);
    else return undefined;
  }
  return types;
}

/** The values an enum (or const) allows, null left out; undefined when it is not one. */
function valuesOf(document: OpenApiDocument, schema: SchemaObject): unknown[] | undefined {
  const all = variants(document, schema)
    .filter((variant) => variant.type !== 'null')
    .map((variant) => variant.enum ?? (variant.const !== undefined ? [variant.const] : undefined));
  if (all.length === 0 || all.some((values) => values === undefined)) return undefined;
  return all.flat().filter((value) => value !== null);
}

const show = (values: Iterable<unknown>): string =>
  [...values].map((value) => JSON.stringify(value)).join(', ');

function compareSchemas(
  state: Compared,
  beforeNode: SchemaObject,
  afterNode: SchemaObject,
  direction: Direction,
  where: string,
): void {
  if (beforeNode.$ref !== undefined && afterNode.$ref !== undefined) {
    const key = `${direction} ${beforeNode.$ref} ${afterNode.$ref}`;
    if (state.seen.has(key)) return;
    state.seen.add(key);
  }
  const before = flatten(state.before, beforeNode);
  const after = flatten(state.after, afterNode);
  const report = (what: string) => state.breaks.push(`${where}: ${what}`);

  const beforeTypes = typesOf(state.before, before);
  const afterTypes = typesOf(state.after, after);
  if (beforeTypes && afterTypes) {
    const [from, to] = direction === 'request' ? [beforeTypes, afterTypes] : [afterTypes, beforeTypes];
    const lost = [...from].filter((type) => !to.has(type) && !(type === 'integer' && to.has('number')));
    if (lost.length > 0)
      report(
        `type changed from ${[...beforeTypes].join('|')} to ${[...afterTypes].join('|')} (${direction === 'request' ? 'no longer accepts' : 'may now be'} ${lost.join(', ')})`,
      );
  }

  if (direction === 'request') {
    const beforeValues = valuesOf(state.before, before);
    const afterValues = valuesOf(state.after, after);
    if (beforeValues && afterValues) {
      const removed = beforeValues.filter((value) => !afterValues.includes(value));
      if (removed.length > 0) report(`enum narrowed: no longer accepts ${show(removed)}`);
    }
  }

  const beforeProperties = before.properties ?? {};
  const afterProperties = after.properties ?? {};
  const beforeRequired = new Set(before.required ?? []);
  const afterRequired = new Set(after.required ?? []);
  for (const [name, schema] of Object.entries(beforeProperties)) {
    const next = afterProperties[name];
    if (next === undefined) {
      if (direction === 'response') report(`property \`${name}\` removed or renamed`);
      else if (after.additionalProperties === false && after.properties !== undefined)
        report(`property \`${name}\` no longer accepted`);
      continue;
    }
    if (direction === 'response' && beforeRequired.has(name) && !afterRequired.has(name))
      report(`property \`${name}\` no longer always present`);
    compareSchemas(state, schema, next, direction, `${where}.${name}`);
  }
  if (direction === 'request')
    for (const name of afterRequired)
      if (!beforeRequired.has(name)) report(`property \`${name}\` is now required`);

  if (before.items && after.items) compareSchemas(state, before.items, after.items, direction, `${where}[]`);
  // Unions: compare the non-null variants pairwise when their number is unchanged.
  const beforeVariants = (before.oneOf ?? before.anyOf ?? []).filter(
    (v) => resolveRef<SchemaObject>(state.before, v).type !== 'null',
  );
  const afterVariants = (after.oneOf ?? after.anyOf ?? []).filter(
    (v) => resolveRef<SchemaObject>(state.after, v).type !== 'null',
  );
  if (beforeVariants.length === afterVariants.length)
    beforeVariants.forEach((variant, i) => {
      compareSchemas(state, variant, afterVariants[i]!, direction, where);
    });
}

const key = (located: LocatedOperation): string => `${located.method.toUpperCase()} ${located.path}`;
const parameterKey = (parameter: ParameterObject): string =>
  `${parameter.in} parameter \`${parameter.name}\``;
const jsonSchema = (content: LocatedOperation['responses'][string]['content']): SchemaObject | undefined =>
  Object.entries(content ?? {}).find(([type]) => type.endsWith('json'))?.[1].schema;

function compareOperations(state: Compared, before: LocatedOperation, after: LocatedOperation): void {
  const where = key(after);
  const afterParameters = new Map(after.parameters.map((p) => [parameterKey(p), p]));
  const beforeParameters = new Map(before.parameters.map((p) => [parameterKey(p), p]));
  for (const [name, parameter] of afterParameters) {
    const previous = beforeParameters.get(name);
    if (parameter.required && !previous?.required)
      state.breaks.push(`${where}: ${name} ${previous ? 'is now required' : 'added as required'}`);
    if (previous) compareSchemas(state, previous.schema, parameter.schema, 'request', `${where} ${name}`);
  }
  if (after.requestBody?.required && !before.requestBody?.required)
    state.breaks.push(`${where}: the request body is now required`);
  const beforeBody = jsonSchema(before.requestBody?.content);
  const afterBody = jsonSchema(after.requestBody?.content);
  if (beforeBody && afterBody)
    compareSchemas(state, beforeBody, afterBody, 'request', `${where} request body`);
  for (const [status, response] of Object.entries(before.responses)) {
    if (!status.startsWith('2')) continue;
    const next = after.responses[status];
    if (!next) {
      state.breaks.push(`${where}: response ${status} removed`);
      continue;
    }
    const beforeSchema = jsonSchema(response.content);
    const afterSchema = jsonSchema(next.content);
    if (beforeSchema && afterSchema)
      compareSchemas(state, beforeSchema, afterSchema, 'response', `${where} response ${status}`);
  }
}

/**
 * The webhooks the API sends (the spec's `webhooks`): their receivers read each payload as a client
 * reads a response, so a webhook removed or a payload changed that way breaks them.
 */
function compareWebhooks(state: Compared): void {
  for (const [name, item] of Object.entries(state.before.webhooks ?? {})) {
    const payload = resolveRef(state.before, item.post?.requestBody ?? { content: {} });
    const nextItem = state.after.webhooks?.[name];
    if (!nextItem?.post) {
      state.breaks.push(`webhook ${name}: removed`);
      continue;
    }
    const beforeSchema = jsonSchema(payload.content);
    const afterSchema = jsonSchema(
      resolveRef(state.after, nextItem.post.requestBody ?? { content: {} }).content,
    );
    state.seen = new Set();
    if (beforeSchema && afterSchema)
      compareSchemas(state, beforeSchema, afterSchema, 'response', `webhook ${name} payload`);
  }
}

/** What in `after` breaks users of `before`, one line each (empty when nothing does). */
export function breakingChanges(before: OpenApiDocument, after: OpenApiDocument): string[] {
  const current = new Map(operations(after).map((located) => [key(located), located]));
  const state: Compared = { before, after, breaks: [], seen: new Set() };
  for (const located of operations(before)) {
    const next = current.get(key(located));
    if (!next) state.breaks.push(`${key(located)}: operation ${located.operationId} removed`);
    else {
      state.seen = new Set();
      compareOperations(state, located, next);
    }
  }
  compareWebhooks(state);
  return [...new Set(state.breaks)];
}

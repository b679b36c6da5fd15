/**
 * Bad inputs derived from the spec: for each operation, one broken request per rule its schemas
 * state (a wrong type, a value outside an enum, a string over maxLength, a number out of range,
 * an unknown field where additionalProperties is false, an id off its pattern). Each mutation
 * changes exactly one thing in an otherwise valid call and names the field the 400 must blame.
 * The project's bad-input tests (test/support/mutations.ts) and the conformance runner share them.
 */
import type { SpecModel, SpecOperation } from './spec-model';

type Deref = SpecModel['deref'];

/** The parts of a request a mutation changes (the SDK's call options have the same shape). */
export interface RequestParts {
  path?: Record<string, string>;
  query?: Record<string, unknown>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Turns the body into what is sent (`null`: the body is sent as it is). */
  bodySerializer?: ((body: unknown) => string) | null;
}

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, unknown>;
  additionalProperties?: boolean | object;
  minProperties?: number;
}

export interface Mutation {
  description: string;
  /** The error path (`/body/name`, `/query/limit`, …) the 400 must mention, if any. */
  blames?: string;
  apply(call: RequestParts): RequestParts;
}

const typesOf = (schema: JsonSchema): string[] =>
  Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];

/** A value of a JSON type the schema does not allow. */
function wrongTypeValue(schema: JsonSchema): unknown {
  const types = typesOf(schema);
  if (types.length === 0) return undefined;
  return types.includes('string') ? 12345 : 'not-the-right-type';
}

/** Broken values for one field, each with what it breaks. */
export function brokenValues(
  schema: JsonSchema,
  asText: boolean,
  deref: Deref,
): { description: string; value: unknown }[] {
  const broken: { description: string; value: unknown }[] = [];
  const types = typesOf(schema);
  const wrong = wrongTypeValue(schema);
  // In a query string every value is text, so only a non-number can have the wrong type.
  if (wrong !== undefined && (!asText || types.includes('integer') || types.includes('number')))
    broken.push({ description: 'a wrong type', value: asText ? 'abc' : wrong });
  if (schema.enum) broken.push({ description: 'a value outside the enum', value: 'no-such-value' });
  if (schema.maxLength !== undefined)
    broken.push({
      description: `a string over maxLength ${schema.maxLength}`,
      value: 'x'.repeat(schema.maxLength + 1),
    });
  if (schema.pattern !== undefined && !schema.enum)
    broken.push({ description: 'a string off its pattern', value: 'not a valid value!' });
  if (schema.minimum !== undefined)
    broken.push({ description: `a number under minimum ${schema.minimum}`, value: schema.minimum - 1 });
  if (schema.maximum !== undefined)
    broken.push({ description: `a number over maximum ${schema.maximum}`, value: schema.maximum + 1 });
  if (types.includes('array')) {
    const items = deref<JsonSchema>((schema as { items?: unknown }).items);
    if (items && typesOf(items).includes('string'))
      broken.push({ description: 'an array holding a non-string', value: [42] });
  }
  return broken;
}

function bodySchema(operation: SpecOperation, deref: Deref): JsonSchema | undefined {
  const schema = operation.requestBody?.content['application/json']?.schema;
  return schema === undefined ? undefined : deref<JsonSchema>(schema);
}

export function mutationsOf(operation: SpecOperation, deref: Deref): Mutation[] {
  const mutations: Mutation[] = [];
  const body = bodySchema(operation, deref);
  if (body) {
    mutations.push(
      {
        description: 'malformed JSON',
        apply: (call) => ({ ...call, bodySerializer: () => '{"name": "unfinished' }),
      },
      {
        description: 'a JSON array instead of an object',
        blames: '/body',
        apply: (call) => ({ ...call, body: [call.body] }),
      },
    );
    if (body.minProperties !== undefined) {
      mutations.push({
        description: `fewer than ${body.minProperties} field(s)`,
        blames: '/body',
        apply: (call) => ({ ...call, body: {} }),
      });
    }
    if (body.additionalProperties === false) {
      mutations.push({
        description: 'an unknown field',
        apply: (call) => ({ ...call, body: { ...(call.body as object), is_admin: true } }),
      });
    }
    for (const [name, raw] of Object.entries(body.properties ?? {})) {
      for (const broken of brokenValues(deref<JsonSchema>(raw), false, deref)) {
        mutations.push({
          description: `${broken.description} in body.${name}`,
          blames: `/body/${name}`,
          apply: (call) => ({ ...call, body: { ...(call.body as object), [name]: broken.value } }),
        });
      }
    }
  }
  for (const parameter of operation.parameters) {
    if (parameter.in === 'cookie') continue;
    const where = parameter.in === 'header' ? 'headers' : parameter.in;
    for (const broken of brokenValues(deref<JsonSchema>(parameter.schema), true, deref)) {
      const value = String(broken.value);
      mutations.push({
        description: `${broken.description} in ${parameter.in} ${parameter.name}`,
        blames: `/${where}/${parameter.in === 'header' ? parameter.name.toLowerCase() : parameter.name}`,
        apply: (call) =>
          parameter.in === 'path'
            ? { ...call, path: { ...call.path, [parameter.name]: value } }
            : parameter.in === 'query'
              ? { ...call, query: { ...call.query, [parameter.name]: value } }
              : { ...call, headers: { ...call.headers, [parameter.name]: value } },
      });
    }
  }
  return mutations;
}

/** A query parameter no operation takes (a typo of `status`): every operation must refuse it with 400. */
export const unknownQueryParameter: Mutation = {
  description: 'an unknown query parameter',
  blames: '/query/stauts',
  apply: (call) => ({ ...call, query: { ...call.query, stauts: 'online' } }),
};

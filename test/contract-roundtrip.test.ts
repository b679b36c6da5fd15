/**
 * The contract the server enforces, re-emitted as OpenAPI by zod-openapi, against the
 * hand-authored spec: same operations, same parameters, same statuses and content types, and
 * the same schema shapes (types, properties, required, enums, bounds, patterns, nullability).
 * A generator bug or a hand edit of the contract shows up here as drift.
 */
import { describe, expect, it } from 'vitest';
import { resolveRef } from '../scripts/lib/openapi';
import { contractDocument } from './support/contract-document';
import { spec } from './support/spec';

type Json = Record<string, unknown>;
type Doc = { paths?: Record<string, Record<string, Json>>; components?: { schemas?: Record<string, Json> } };

const emitted = contractDocument() as unknown as Doc;
const authored = spec as unknown as Doc;
const FORMATS = ['date-time', 'email'];
const UNBOUNDED = [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER];

const resolve = (doc: Doc, node: unknown): Json => resolveRef(doc, node) as Json;

/**
 * A canonical form of a schema: what constrains values, not how it is written down. A schema met
 * again inside itself (a tree such as DeviceFilterExpression) is named instead of expanded.
 */
function shape(doc: Doc, node: unknown, request = false, within: readonly string[] = []): unknown {
  const name = ((node as Json | undefined)?.$ref as string | undefined)?.split('/').pop();
  if (name !== undefined && within.includes(name)) return { recursive: name };
  const inside = name === undefined ? within : [...within, name];
  const schema = resolve(doc, node);
  if (!schema || typeof schema !== 'object') return schema;
  const variants = (schema.anyOf ?? schema.oneOf) as unknown[] | undefined;
  if (variants) {
    const nonNull = variants.filter((v) => resolve(doc, v).type !== 'null');
    if (nonNull.length === 1 && variants.length === 2)
      return { ...(shape(doc, nonNull[0], request, inside) as Json), nullable: true };
    return { anyOf: variants.map((v) => shape(doc, v, request, inside)) };
  }
  if (schema.allOf) {
    const parts = (schema.allOf as unknown[]).map((part) => shape(doc, part, request, inside) as Json);
    return {
      type: 'object',
      properties: Object.assign({}, ...parts.map((p) => p.properties)),
      required: parts.flatMap((p) => (p.required as string[]) ?? []).sort(),
    };
  }
  const types = Array.isArray(schema.type)
    ? (schema.type as string[])
    : schema.type
      ? [schema.type as string]
      : [];
  const result: Json = {};
  const type = types.filter((t) => t !== 'null');
  if (type.length > 0) result.type = type.join('|');
  if (types.includes('null')) result.nullable = true;
  // zod writes these formats out again as patterns; the format is what both sides mean.
  const format = FORMATS.includes(schema.format as string) ? (schema.format as string) : undefined;
  if (format) result.format = format;
  for (const key of [
    'minLength',
    'maxLength',
    ...(format ? [] : ['pattern']),
    'minItems',
    'maxItems',
    'minimum',
    'maximum',
  ]) {
    if (schema[key] !== undefined && !UNBOUNDED.includes(schema[key] as number)) result[key] = schema[key];
  }
  if (schema.enum) result.enum = [...(schema.enum as unknown[])].sort();
  // A boolean in a query string arrives as the text `true` or `false`, and the contract says so.
  if (result.type === 'string' && JSON.stringify(result.enum) === '["false","true"]')
    return { type: 'boolean' };
  if (schema.const !== undefined) result.enum = [schema.const];
  // Only requests are refused for unknown fields; zod-openapi closes every output object.
  if (request && schema.additionalProperties === false) result.closed = true;
  if (schema.items) result.items = shape(doc, schema.items, request, inside);
  if (schema.properties) {
    result.properties = Object.fromEntries(
      Object.entries(schema.properties as Json)
        .sort()
        .map(([property, sub]) => [property, shape(doc, sub, request, inside)]),
    );
    result.required = [...((schema.required as string[]) ?? [])].sort();
  }
  return result;
}

interface OperationSummary {
  parameters: string[];
  requestBody: unknown;
  responses: Record<string, Record<string, unknown>>;
}

function operations(doc: Doc): Record<string, OperationSummary> {
  const found: Record<string, OperationSummary> = {};
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const [method, operation] of Object.entries(item)) {
      if (!operation.responses) continue;
      const parameters = [
        ...((item.parameters as unknown as unknown[]) ?? []),
        ...((operation.parameters as unknown[]) ?? []),
      ].map((p) => resolve(doc, p));
      const body = resolve(doc, operation.requestBody)?.content as Record<string, Json> | undefined;
      found[`${method.toUpperCase()} ${path}`] = {
        parameters: parameters
          .map(
            (p) =>
              `${p.in} ${p.in === 'header' ? (p.name as string).toLowerCase() : p.name}${p.required ? ' (required)' : ''} ${JSON.stringify(shape(doc, p.schema))}`,
          )
          .sort(),
        // Only JSON bodies are validated by the contract; binary ones (images) pass through as they are.
        requestBody: body?.['application/json'] ? shape(doc, body['application/json'].schema, true) : null,
        responses: Object.fromEntries(
          Object.entries(operation.responses as Json).map(([status, response]) => [
            status,
            Object.fromEntries(
              Object.entries((resolve(doc, response).content as Record<string, Json>) ?? {}).map(
                ([type, media]) => [type, shape(doc, media.schema)],
              ),
            ),
          ]),
        ),
      };
    }
  }
  return found;
}

const fromContract = operations(emitted);
const fromSpec = operations(authored);

describe('the contract re-emitted by zod-openapi', () => {
  it('has exactly the operations of the spec', () => {
    expect(Object.keys(fromContract).sort()).toEqual(Object.keys(fromSpec).sort());
  });

  describe.each(Object.keys(fromSpec).map((key) => [key] as const))('%s', (key) => {
    it('has the same parameters', () =>
      expect(fromContract[key]?.parameters).toEqual(fromSpec[key]!.parameters));
    it('has the same request body', () =>
      expect(fromContract[key]?.requestBody).toEqual(fromSpec[key]!.requestBody));
    it('has the same statuses, content types and response schemas', () =>
      expect(fromContract[key]?.responses).toEqual(fromSpec[key]!.responses));
  });
});

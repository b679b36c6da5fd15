/**
 * Turns the JSON Schema subset our spec uses into zod source code for the server contract.
 *
 * Why not reuse hey-api's zod output (sdk/src/generated/zod.gen.ts)? It strips unknown keys
 * instead of enforcing `additionalProperties: false`, does not enforce `uniqueItems` or
 * `minProperties`, and cannot coerce query strings (docs/decisions.md). The server must refuse
 * exactly what the spec forbids, so it gets its own, stricter translation. Anything this
 * translator does not understand is an error at generation time, never a silent `z.any()`.
 */

import type { SchemaObject } from '../../scripts/lib/openapi';

export type JsonSchema = SchemaObject;

/** Keywords that only document a schema; they do not change what it accepts. */
const ANNOTATIONS = new Set([
  'title',
  'description',
  'examples',
  'example',
  'deprecated',
  'readOnly',
  'writeOnly',
  'externalDocs',
]);

export function refName(ref: string): string {
  const prefix = '#/components/schemas/';
  if (!ref.startsWith(prefix)) throw new Error(`Unsupported $ref ${ref}: only ${prefix}* is understood`);
  return ref.slice(prefix.length);
}

const lit = (value: unknown): string => JSON.stringify(value);

function stringSchema(schema: JsonSchema): string {
  let code: string;
  switch (schema.format) {
    case 'date-time':
      code = 'z.iso.datetime({ offset: true })';
      break;
    case 'email':
      code = 'z.email()';
      break;
    case 'uri':
      code = 'z.url()';
      break;
    case undefined:
    case 'password':
    case 'uri-reference':
    // Binary bodies (images) travel as streams and buffers, never through zod; the contract
    // names them as the text they are on the wire.
    case 'binary':
      code = 'z.string()';
      break;
    default:
      throw new Error(`Unsupported string format ${schema.format}`);
  }
  if (schema.minLength !== undefined) code += `.min(${schema.minLength})`;
  if (schema.maxLength !== undefined) code += `.max(${schema.maxLength})`;
  if (schema.pattern !== undefined) code += `.regex(new RegExp(${lit(schema.pattern)}))`;
  return code;
}

function numberSchema(schema: JsonSchema, options: { coerce: boolean }): string {
  let code = options.coerce ? 'z.coerce.number()' : 'z.number()';
  if (schema.type === 'integer') code += '.int()';
  if (schema.minimum !== undefined) code += `.min(${schema.minimum})`;
  if (schema.maximum !== undefined) code += `.max(${schema.maximum})`;
  return code;
}

/**
 * `additionalProperties: false` refuses unknown keys; `true` keeps them (free-form objects such
 * as a command's params, which zod's default object would silently empty); a schema makes a map
 * (`z.record`), allowed only without named properties. Left out, unknown keys are dropped.
 */
function objectSchema(schema: JsonSchema, self: string | undefined): string {
  const required = new Set(schema.required ?? []);
  const fields = Object.entries(schema.properties ?? {}).map(([key, value]) => {
    const field = toZod(value, { self });
    const code = required.has(key) ? field : `${field}.optional()`;
    // A property that refers back to the schema being defined is a getter, which is how zod 4
    // declares recursive objects (the schema exists by the time the getter is read).
    return self !== undefined && referencedNames(value).has(self)
      ? `get ${lit(key)}() { return ${code}; }`
      : `${lit(key)}: ${code}`;
  });
  let code: string;
  if (schema.additionalProperties === true && fields.length === 0) {
    code = 'z.record(z.string(), z.unknown())';
  } else if (typeof schema.additionalProperties === 'object') {
    if (fields.length > 0)
      throw new Error('Typed additionalProperties are only supported on maps (no named properties)');
    code = `z.record(z.string(), ${toZod(schema.additionalProperties)})`;
  } else {
    const kind =
      schema.additionalProperties === false
        ? 'z.strictObject'
        : schema.additionalProperties === true
          ? 'z.looseObject'
          : 'z.object';
    code = `${kind}({ ${fields.join(', ')} })`;
  }
  if (schema.minProperties !== undefined) {
    code += `.refine((value) => Object.keys(value).length >= ${schema.minProperties}, { message: 'Send at least ${schema.minProperties} field(s) to change' })`;
  }
  if (schema.maxProperties !== undefined) {
    code += `.refine((value) => Object.keys(value).length <= ${schema.maxProperties}, { message: 'At most ${schema.maxProperties} field(s)' })`;
  }
  return code;
}

function arraySchema(schema: JsonSchema, self: string | undefined): string {
  if (!schema.items) throw new Error('Arrays need items');
  let code = `z.array(${toZod(schema.items, { self })})`;
  if (schema.minItems !== undefined) code += `.min(${schema.minItems})`;
  if (schema.maxItems !== undefined) code += `.max(${schema.maxItems})`;
  if (schema.uniqueItems)
    code += `.refine((items) => new Set(items).size === items.length, { message: 'Items must be unique' })`;
  return code;
}

function isNull(schema: JsonSchema): boolean {
  return schema.type === 'null' && Object.keys(schema).every((key) => key === 'type' || ANNOTATIONS.has(key));
}

/**
 * zod source for one schema. `coerce` is for query and path strings that carry numbers; `self`
 * names the component schema being defined, which its object properties may refer back to.
 */
export function toZod(
  schema: JsonSchema,
  options: { coerce?: boolean; self?: string | undefined } = {},
): string {
  for (const key of Object.keys(schema)) {
    if (!ANNOTATIONS.has(key) && !KNOWN_KEYWORDS.has(key) && !key.startsWith('x-'))
      throw new Error(`Unsupported JSON Schema keyword ${key}`);
  }
  if (schema.$ref) return refName(schema.$ref);
  const variants = schema.oneOf ?? schema.anyOf;
  if (variants) {
    const nonNull = variants.filter((variant) => !isNull(variant));
    const nullable = nonNull.length < variants.length;
    const inner =
      nonNull.length === 1
        ? toZod(nonNull[0]!, options)
        : `z.union([${nonNull.map((v) => toZod(v, options)).join(', ')}])`;
    return nullable ? `${inner}.nullable()` : inner;
  }
  if (schema.allOf) {
    const [first, ...rest] = schema.allOf.map((part) => toZod(part, options));
    return rest.reduce((acc, part) => `z.intersection(${acc}, ${part})`, first!);
  }
  if (schema.const !== undefined) return `z.literal(${lit(schema.const)})`;
  if (schema.enum) {
    if (!schema.enum.every((value) => typeof value === 'string'))
      throw new Error('Only string enums are supported');
    return `z.enum(${lit(schema.enum)})`;
  }
  switch (schema.type) {
    case 'string':
      return stringSchema(schema);
    case 'integer':
    case 'number':
      return numberSchema(schema, { coerce: options.coerce ?? false });
    case 'boolean':
      return options.coerce
        ? `z.enum(['true', 'false']).transform((value) => value === 'true')`
        : 'z.boolean()';
    case 'object':
      return objectSchema(schema, options.self);
    case 'array':
      return arraySchema(schema, options.self);
    default:
      throw new Error(`Unsupported schema type ${JSON.stringify(schema.type)}`);
  }
}

const KNOWN_KEYWORDS = new Set([
  '$ref',
  'type',
  'enum',
  'const',
  'format',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
  'items',
  'properties',
  'required',
  'additionalProperties',
  'oneOf',
  'anyOf',
  'allOf',
  'default',
]);

/** The component schemas a schema refers to, directly or through its children. */
export function referencedNames(schema: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) {
    for (const item of schema) referencedNames(item, found);
  } else if (schema && typeof schema === 'object') {
    for (const [key, value] of Object.entries(schema)) {
      if (key === '$ref' && typeof value === 'string') found.add(refName(value));
      else if (key !== 'examples' && key !== 'example') referencedNames(value, found);
    }
  }
  return found;
}

/**
 * Reads example values out of a bundled OpenAPI 3.1 document, following its local `$ref`s
 * (`#/components/responses/…`, `#/components/headers/…`, `#/components/examples/…`,
 * `#/components/schemas/…`). Redocly's bundle keeps every reference local, so an external one
 * means the input is not the bundle and is reported rather than guessed at.
 */
import {
  type ExampleHolder,
  type HeaderObject,
  type OpenApiDocument,
  type Ref,
  resolveRef,
  type SchemaObject,
} from '../../scripts/lib/openapi';

/** The `{ found, value }` pair distinguishes "no example" from an example that is `null`. */
export type Example = { found: true; value: unknown } | { found: false };

const NONE: Example = { found: false };

/** Returns a function that follows `$ref`s (chains included) to the object they point at. */
export function referenceResolver(document: OpenApiDocument): <T>(node: Ref<T>) => T {
  return <T>(node: Ref<T>): T => resolveRef(document, node);
}

/**
 * The example written on a media type or header itself: `example`, else the first named entry
 * of `examples` (its `value`), the order of precedence OpenAPI gives them.
 */
export function ownExample(holder: ExampleHolder, resolve: <T>(node: Ref<T>) => T): Example {
  if ('example' in holder) return { found: true, value: holder.example };
  const first = Object.values(holder.examples ?? {})[0];
  if (first === undefined) return NONE;
  const example = resolve(first);
  return 'value' in example ? { found: true, value: example.value } : NONE;
}

/** A JSON Schema's own example: `examples[0]` (2020-12), else the deprecated `example`. */
export function schemaExample(
  schema: Ref<SchemaObject> | undefined,
  resolve: <T>(node: Ref<T>) => T,
): Example {
  if (schema === undefined) return NONE;
  const resolved = resolve(schema);
  if (resolved.examples !== undefined && resolved.examples.length > 0)
    return { found: true, value: resolved.examples[0] };
  return 'example' in resolved ? { found: true, value: resolved.example } : NONE;
}

/** The example of a response header: the header's own, else its schema's. */
export function headerExample(header: HeaderObject, resolve: <T>(node: Ref<T>) => T): Example {
  const own = ownExample(header, resolve);
  return own.found ? own : schemaExample(header.schema, resolve);
}

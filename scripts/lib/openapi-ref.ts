/**
 * The one `$ref` resolver for the bundled spec (and documents like it): follows local JSON
 * pointers (`#/components/schemas/Device`, `#/paths/~1v1~1devices/get/…`), chains included, to
 * the object they point at. Anything that is not a reference comes back as it is.
 */
export function resolveRef<T>(document: unknown, node: T): T {
  let current: unknown = node;
  for (let depth = 0; isReference(current); depth++) {
    const ref = current.$ref;
    if (depth === 32) throw new Error(`$ref chain too long (a cycle?) at ${ref}`);
    if (!ref.startsWith('#/'))
      throw new Error(`Only local $refs are supported (is this the bundled spec?): ${ref}`);
    current = ref
      .slice(2)
      .split('/')
      .map((segment) => decodeURIComponent(segment).replaceAll('~1', '/').replaceAll('~0', '~'))
      .reduce<unknown>((parent, key) => (parent as Record<string, unknown> | undefined)?.[key], document);
    if (current === undefined) throw new Error(`Unresolved $ref ${ref}`);
  }
  return current as T;
}

function isReference(node: unknown): node is { $ref: string } {
  return typeof node === 'object' && node !== null && typeof (node as { $ref?: unknown }).$ref === 'string';
}

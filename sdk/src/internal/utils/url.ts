import { createQuerySerializer } from '../../generated/client/utils.gen';
import { getUrl } from '../../generated/core/utils.gen';

const serializeQuery = createQuerySerializer();

/**
 * A path template split once into text and placeholder names (odd indexes), e.g.
 * `['/v1/devices/', 'device_id', '']`, and whether every placeholder is a plain `{name}` (the
 * route table's are); the route table names a few dozen templates.
 */
interface Template {
  parts: string[];
  plain: boolean;
}
const compiled = new Map<string, Template>();
const COMPILED_MAX = 1000;

function compile(template: string): Template {
  let compiledTemplate = compiled.get(template);
  if (compiledTemplate === undefined) {
    const parts = template.split(/\{([^{}]+)\}/);
    const plain = template.startsWith('/') && parts.every((part, i) => i % 2 === 0 || /^\w+$/.test(part));
    compiledTemplate = { parts, plain };
    if (compiled.size < COMPILED_MAX) compiled.set(template, compiledTemplate);
  }
  return compiledTemplate;
}

/** Replaces `{name}` placeholders with encoded values; a missing value is a programming error. */
export function fillPath(template: string, params: Record<string, unknown> = {}): string {
  const { parts, plain } = compile(template);
  let simple = plain;
  let path = parts[0]!;
  for (let i = 1; i < parts.length; i += 2) {
    const name = parts[i]!;
    const value = params[name];
    if (value === undefined || value === null || value === '') {
      throw new TypeError(`${template}: the path parameter ${name} is missing`);
    }
    // `..` would survive encoding and make the URL climb out of the resource.
    if (value === '.' || value === '..')
      throw new TypeError(`${template}: ${name} cannot be "${String(value)}"`);
    simple &&= typeof value === 'string' || typeof value === 'number';
    if (simple) path += encodeURIComponent(value as string) + parts[i + 1]!;
  }
  // What hey-api's path serialiser makes of a plain `{name}` and a string or number, without
  // parsing the template again; other styles (`{.name}`, `{name*}`, arrays, objects) go to it.
  return simple ? path : getUrl({ url: template, path: params, querySerializer: serializeQuery });
}

/** A base URL as `buildUrl` takes it: without trailing slashes. */
export function trimBaseUrl(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '');
}

/** The absolute URL of a path (already filled) under a base URL (trimmed), with the query serialised. */
export function buildUrl(base: string, path: string, query?: object): string {
  if (query === undefined && path.startsWith('/')) return base + path;
  return getUrl({
    baseUrl: base,
    url: path,
    ...(query === undefined ? {} : { query: query as Record<string, unknown> }),
    querySerializer: serializeQuery,
  });
}

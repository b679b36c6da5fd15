import { createQuerySerializer } from '../../generated/client/utils.gen';
import { getUrl } from '../../generated/core/utils.gen';

const serializeQuery = createQuerySerializer();

/**
 * A path template split once into text and placeholder names (odd indexes), e.g.
 * `['/v1/devices/', 'device_id', '']`; the route table names a few dozen templates.
 */
const compiled = new Map<string, string[]>();
const COMPILED_MAX = 1000;

function partsOf(template: string): string[] {
  let parts = compiled.get(template);
  if (parts === undefined) {
    parts = template.split(/\{([^{}]+)\}/);
    if (compiled.size < COMPILED_MAX) compiled.set(template, parts);
  }
  return parts;
}

/** Replaces `{name}` placeholders with encoded values; a missing value is a programming error. */
export function fillPath(template: string, params: Record<string, unknown> = {}): string {
  const parts = partsOf(template);
  let simple = template.startsWith('/');
  for (let i = 1; i < parts.length; i += 2) {
    const name = parts[i]!;
    const value = params[name];
    if (value === undefined || value === null || value === '') {
      throw new TypeError(`${template}: the path parameter ${name} is missing`);
    }
    // `..` would survive encoding and make the URL climb out of the resource.
    if (value === '.' || value === '..')
      throw new TypeError(`${template}: ${name} cannot be "${String(value)}"`);
    simple &&= /^\w+$/.test(name) && (typeof value === 'string' || typeof value === 'number');
  }
  // What hey-api's path serialiser makes of a plain `{name}` and a string or number, without
  // parsing the template again; other styles (`{.name}`, `{name*}`, arrays, objects) go to it.
  if (simple)
    return parts.map((part, i) => (i % 2 === 0 ? part : encodeURIComponent(params[part] as string))).join('');
  return getUrl({ url: template, path: params, querySerializer: serializeQuery });
}

/** The absolute URL of a path (already filled) under the base URL, with the query serialised. */
export function buildUrl(baseUrl: string, path: string, query?: object): string {
  return getUrl({
    baseUrl: baseUrl.replace(/\/+$/, ''),
    url: path,
    ...(query === undefined ? {} : { query: query as Record<string, unknown> }),
    querySerializer: serializeQuery,
  });
}

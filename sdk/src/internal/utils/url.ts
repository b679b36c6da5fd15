import { createQuerySerializer } from '../../generated/client/utils.gen';
import { getUrl } from '../../generated/core/utils.gen';

const serializeQuery = createQuerySerializer();
const PLACEHOLDER = /\{([^{}]+)\}/g;

/** Replaces `{name}` placeholders with encoded values; a missing value is a programming error. */
export function fillPath(template: string, params: Record<string, unknown> = {}): string {
  for (const [, name] of template.matchAll(PLACEHOLDER)) {
    const value = params[name!];
    if (value === undefined || value === null || value === '') {
      throw new TypeError(`${template}: the path parameter ${name} is missing`);
    }
    // `..` would survive encoding and make the URL climb out of the resource.
    if (value === '.' || value === '..')
      throw new TypeError(`${template}: ${name} cannot be "${String(value)}"`);
  }
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

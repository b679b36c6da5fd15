/**
 * Where each page and file of the site lives. The router and the static build render the very
 * same pages; only this mapping differs between them: the router uses clean absolute URLs under
 * its mount point, the static copy uses relative `.html` URLs so it works from any directory of
 * any static host.
 */
import type { AssetName } from './assets';

export interface SiteLinks {
  reference: string;
  guidesIndex: string;
  guide(slug: string): string;
  asset(name: AssetName): string;
  /** The bundled OpenAPI document Scalar loads. */
  spec: string;
}

/** Links for pages served by the router mounted at `base` (`req.baseUrl`, e.g. `/docs`). */
export function routerLinks(base: string): SiteLinks {
  return {
    reference: `${base}/`,
    guidesIndex: `${base}/guides`,
    guide: (slug) => `${base}/guides/${slug}`,
    asset: (name) => `${base}/assets/${name}`,
    // The server serves the spec itself, at its root, with `servers` set to the caller's origin.
    spec: '/openapi.json',
  };
}

/** Links for a static page `depth` directories below the root of the built site. */
export function staticLinks(depth: number): SiteLinks {
  const root = '../'.repeat(depth);
  return {
    reference: `${root}index.html`,
    guidesIndex: `${root}guides/index.html`,
    guide: (slug) => `${root}guides/${slug}.html`,
    asset: (name) => `${root}assets/${name}`,
    spec: `${root}openapi.json`,
  };
}

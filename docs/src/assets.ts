/**
 * The files pages load from `assets/`. Scalar's offline bundle is resolved through the package's
 * own `exports` (not a hard-coded node_modules path), so hoisted and nested installs both work
 * and nothing is ever fetched from a CDN. Only the names listed here are served, so a request
 * path never becomes a file path.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

export const ASSETS = {
  'standalone.js': require.resolve('@scalar/api-reference/browser/standalone.js'),
  'style.css': require.resolve('@scalar/api-reference/style.css'),
  'site.css': fileURLToPath(new URL('../assets/site.css', import.meta.url)),
  'reference.js': fileURLToPath(new URL('../assets/reference.js', import.meta.url)),
} as const;

export type AssetName = keyof typeof ASSETS;

export const isAssetName = (name: string): name is AssetName => Object.hasOwn(ASSETS, name);

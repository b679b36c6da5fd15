/**
 * `npm run build`: the server as one ES module, server-stub/dist/main.js, for `node` alone (no
 * tsx, no dev dependencies): the project's TypeScript (the server, the generated contract,
 * @meridian/docs) is bundled; every npm package stays an import resolved from node_modules at
 * run time, so the production dependencies of the workspaces are all it needs (native ones such
 * as better-sqlite3 and pg included).
 *
 * Files read at run time (the spec bundle, the guides, the docs assets, the SDK manual) are found
 * relative to `import.meta.url`; in the bundle each module's `import.meta.url` is made the
 * address of its source file, so they are read from the same place as under tsx: deploy
 * openapi/dist, docs/guides, docs/assets and sdk/README.md beside server-stub/dist.
 */
import { readFile } from 'node:fs/promises';
import { dirname, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const outfile = fileURLToPath(new URL('../dist/main.js', import.meta.url));

/** npm packages stay imports; the workspaces' TypeScript (@meridian/*) is bundled. */
const packagesExternal: Plugin = {
  name: 'packages-external',
  setup(esbuild) {
    esbuild.onResolve({ filter: /^[^./]/ }, ({ path }) =>
      path.startsWith('@meridian/') ? undefined : { path, external: true },
    );
  },
};

/** `import.meta.url` in a bundled module: the address of its source file, as seen from the bundle. */
const sourceLocations: Plugin = {
  name: 'source-locations',
  setup(esbuild) {
    esbuild.onLoad({ filter: /\.ts$/ }, async ({ path }) => {
      const source = await readFile(path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      const fromBundle = relative(dirname(outfile), path).split(sep).join('/');
      const url = `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`;
      return { contents: source.replaceAll('import.meta.url', url), loader: 'ts' };
    });
  },
};

await build({
  entryPoints: [fileURLToPath(new URL('../src/main.ts', import.meta.url))],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  sourcemap: true,
  plugins: [packagesExternal, sourceLocations],
  logLevel: 'warning',
});
console.log(`built ${relative(process.cwd(), outfile)}`);

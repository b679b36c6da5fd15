/**
 * What the publishable packages (sdk/scripts/build.ts, mocks/scripts/build.ts) build the same
 * way: ESM + CJS + .d.ts/.d.cts with tsup into a dist of their own, a manifest whose `exports`
 * point at them, and the README and license that npm pack ships beside it.
 */
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'tsup';
import { repoPath } from './paths';

/** The `exports` entry for one built entry point, typed for both module systems. */
export const conditionalExport = (name: string) => ({
  import: { types: `./${name}.d.ts`, default: `./${name}.js` },
  require: { types: `./${name}.d.cts`, default: `./${name}.cjs` },
});

export interface LibraryBuild {
  /** Output name → source file (repository-relative). */
  entry: Record<string, string>;
  /** Repository-relative output directory, emptied first. */
  outDir: string;
  tsconfig: string;
  /** Imports left to the user's own install (peer dependencies). */
  external: string[];
  splitting?: boolean;
}

/** Empties `outDir` and builds the entries for any platform (browser, Node, Deno, Bun). */
export async function buildLibrary({
  entry,
  outDir,
  tsconfig,
  external,
  splitting,
}: LibraryBuild): Promise<void> {
  rmSync(repoPath(outDir), { recursive: true, force: true });
  await build({
    entry: Object.fromEntries(Object.entries(entry).map(([name, file]) => [name, repoPath(file)])),
    outDir: repoPath(outDir),
    format: ['esm', 'cjs'],
    dts: { compilerOptions: { composite: false } },
    tsconfig: repoPath(tsconfig),
    target: 'es2022',
    platform: 'neutral',
    splitting,
    treeshake: true,
    sourcemap: true,
    clean: false,
    silent: true,
    external,
  });
}

export interface PackageFields {
  name: unknown;
  version: unknown;
  description: unknown;
  license: unknown;
  /** Subpath → conditional export; `./package.json` is added. */
  exports: Record<string, unknown>;
  /** Further manifest fields (peerDependencies, bin, …). */
  [field: string]: unknown;
}

/**
 * Writes the manifest (an ES module package whose `index` entry is the main one, for Node 20 and
 * later), and copies the README and the repository's license, into `outDir`.
 */
export function writePackageFiles(
  outDir: string,
  { name, version, description, license, exports, ...rest }: PackageFields,
  readme: string,
): void {
  const manifest = {
    name,
    version,
    description,
    license,
    type: 'module',
    sideEffects: false,
    engines: { node: '>=20' },
    main: './index.cjs',
    module: './index.js',
    types: './index.d.cts',
    exports: { ...exports, './package.json': './package.json' },
    ...rest,
  };
  writeFileSync(repoPath(`${outDir}/package.json`), `${JSON.stringify(manifest, null, 2)}\n`);
  copyFileSync(repoPath(readme), repoPath(`${outDir}/README.md`));
  copyFileSync(repoPath('LICENSE'), repoPath(`${outDir}/LICENSE`));
}

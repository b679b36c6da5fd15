/**
 * Builds the publishable package into sdk/dist: ESM + CJS + .d.ts/.d.cts (tsup) for the client
 * and for the `paths` and `zod` subpaths, and a package.json whose `exports` point at them.
 *
 * Why a package.json of its own in dist: inside this repository every workspace consumes the
 * SDK from its TypeScript sources (sdk/package.json points at src, so tests and tsx need no
 * build step); what users install is dist, packed from there (`npm pack sdk/dist`).
 */
import { readFileSync } from 'node:fs';
import {
  buildLibrary,
  conditionalExport as conditional,
  writePackageFiles,
} from '../../scripts/lib/package-build';
import { repoPath } from '../../scripts/lib/paths';

const ENTRIES = {
  index: 'src/index.ts',
  paths: 'src/generated/paths.gen.ts',
  zod: 'src/generated/zod.gen.ts',
} as const;

/** Builds into sdk/dist, or into `outDir` (absolute, or relative to the repository) for a test of its own. */
export async function buildSdk(outDir = 'sdk/dist'): Promise<void> {
  await buildLibrary({
    entry: Object.fromEntries(Object.entries(ENTRIES).map(([name, file]) => [name, `sdk/${file}`])),
    outDir,
    tsconfig: 'sdk/tsconfig.json',
    splitting: true,
    // zod is an optional peer dependency, used only by the `./zod` subpath.
    external: ['zod'],
  });

  const source = JSON.parse(readFileSync(repoPath('sdk/package.json'), 'utf8')) as Record<string, unknown>;
  writePackageFiles(
    outDir,
    {
      name: source.name,
      version: source.version,
      description: source.description,
      license: source.license,
      exports: { '.': conditional('index'), './paths': conditional('paths'), './zod': conditional('zod') },
      peerDependencies: source.peerDependencies,
      peerDependenciesMeta: source.peerDependenciesMeta,
    },
    'sdk/README.md',
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await buildSdk();

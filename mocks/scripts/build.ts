/**
 * Builds the publishable @meridian/mocks into mocks/dist, the way sdk/scripts/build.ts builds the
 * SDK: ESM + CJS + .d.ts/.d.cts (tsup) for the MSW handlers, a package.json of its own whose
 * `exports` point at them, the README and the license; `npm pack mocks/dist` makes the tarball.
 *
 * - msw is a peer dependency (the user's own msw 2, from 2.15 on: 3.x needs Node 22), never
 *   bundled, so the handlers register with the msw instance the user's tests run.
 * - `meridian-conformance` (src/conformance/cli.ts) is the package's `bin`: one ESM file for Node
 *   with everything it imports bundled (the runner, ajv), and the bundled spec beside it. It lives
 *   here rather than in a package of its own because it serves the same users (contract tests in
 *   their CI) from the same spec, and one package is built, checked and installed once.
 * - The Prism launcher stays in the repository (`npm run mock`): it runs the repository's Prism.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { build } from 'tsup';
import { buildLibrary, conditionalExport, writePackageFiles } from '../../scripts/lib/package-build';
import { repoPath } from '../../scripts/lib/paths';

/** The conformance runner's command (and file) name. */
export const BIN = 'meridian-conformance';

/** Builds into mocks/dist, or into `outDir` (absolute, or relative to the repository) for a test of its own. */
export async function buildMocks(outDir = 'mocks/dist'): Promise<void> {
  await buildLibrary({
    entry: { index: 'mocks/src/index.ts' },
    outDir,
    tsconfig: 'tsconfig.json',
    external: ['msw'],
  });
  await build({
    entry: { [BIN]: repoPath('mocks/src/conformance/cli.ts') },
    outDir: repoPath(outDir),
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    noExternal: [/.*/],
    define: { MERIDIAN_BUNDLED_SPEC: JSON.stringify('./openapi.json') },
    silent: true,
  });
  copyFileSync(repoPath('openapi/dist/openapi.json'), repoPath(`${outDir}/openapi.json`));
  const source = JSON.parse(readFileSync(repoPath('mocks/package.json'), 'utf8')) as {
    name: string;
    version: string;
    license: string;
    dependencies: Record<string, string>;
  };
  writePackageFiles(
    outDir,
    {
      name: source.name,
      version: source.version,
      description:
        "MSW handlers for every operation of the Meridian API (answering with its spec's examples) and a conformance runner for Meridian servers",
      license: source.license,
      exports: { '.': conditionalExport('index') },
      bin: { [BIN]: `./${BIN}.js` },
      peerDependencies: { msw: `^${source.dependencies.msw}` },
    },
    'mocks/README.md',
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await buildMocks();

/**
 * Builds the publishable @meridian/mocks into mocks/dist, the way sdk/scripts/build.ts builds the
 * SDK: ESM + CJS + .d.ts/.d.cts (tsup) for the MSW handlers, a package.json of its own whose
 * `exports` point at them, the README and the license; `npm pack mocks/dist` makes the tarball.
 *
 * - msw is a peer dependency (the user's own msw 2, from 2.15 on: 3.x needs Node 22), never
 *   bundled, so the handlers register with the msw instance the user's tests run.
 * - The Prism launcher stays in the repository (`npm run mock`): it runs the repository's Prism.
 */
import { readFileSync } from 'node:fs';
import { buildLibrary, conditionalExport, writePackageFiles } from '../../scripts/lib/package-build';
import { repoPath } from '../../scripts/lib/paths';

export async function buildMocks(): Promise<void> {
  await buildLibrary({
    entry: { index: 'mocks/src/index.ts' },
    outDir: 'mocks/dist',
    tsconfig: 'tsconfig.json',
    external: ['msw'],
  });
  const source = JSON.parse(readFileSync(repoPath('mocks/package.json'), 'utf8')) as {
    name: string;
    version: string;
    license: string;
    dependencies: Record<string, string>;
  };
  writePackageFiles(
    'mocks/dist',
    {
      name: source.name,
      version: source.version,
      description: "MSW handlers for every operation of the Meridian API, answering with its spec's examples",
      license: source.license,
      exports: { '.': conditionalExport('index') },
      peerDependencies: { msw: `^${source.dependencies.msw}` },
    },
    'mocks/README.md',
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await buildMocks();

/**
 * Builds the publishable package into sdk/dist: ESM + CJS + .d.ts/.d.cts (tsup) for the client
 * and for the `paths` and `zod` subpaths, and a package.json whose `exports` point at them.
 *
 * Why a package.json of its own in dist: inside this repository every workspace consumes the
 * SDK from its TypeScript sources (sdk/package.json points at src, so tests and tsx need no
 * build step); what users install is dist, packed from there (`npm pack sdk/dist`).
 */
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'tsup';
import { repoPath } from '../../scripts/lib/paths';

const OUT = repoPath('sdk/dist');
const ENTRIES = {
  index: 'src/index.ts',
  paths: 'src/generated/paths.gen.ts',
  zod: 'src/generated/zod.gen.ts',
} as const;

const conditional = (name: string) => ({
  import: { types: `./${name}.d.ts`, default: `./${name}.js` },
  require: { types: `./${name}.d.cts`, default: `./${name}.cjs` },
});

export async function buildSdk(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  await build({
    entry: Object.fromEntries(Object.entries(ENTRIES).map(([name, file]) => [name, repoPath(`sdk/${file}`)])),
    outDir: OUT,
    format: ['esm', 'cjs'],
    dts: { compilerOptions: { composite: false } },
    tsconfig: repoPath('sdk/tsconfig.json'),
    target: 'es2022',
    platform: 'neutral',
    splitting: true,
    treeshake: true,
    sourcemap: true,
    clean: false,
    silent: true,
    // zod is an optional peer dependency, used only by the `./zod` subpath.
    external: ['zod'],
  });

  const source = JSON.parse(readFileSync(repoPath('sdk/package.json'), 'utf8')) as Record<string, unknown>;
  const manifest = {
    name: source.name,
    version: source.version,
    description: source.description,
    license: source.license,
    type: 'module',
    sideEffects: false,
    engines: { node: '>=20' },
    main: './index.cjs',
    module: './index.js',
    types: './index.d.cts',
    exports: {
      '.': conditional('index'),
      './paths': conditional('paths'),
      './zod': conditional('zod'),
      './package.json': './package.json',
    },
    peerDependencies: source.peerDependencies,
    peerDependenciesMeta: source.peerDependenciesMeta,
  };
  writeFileSync(`${OUT}/package.json`, `${JSON.stringify(manifest, null, 2)}\n`);
  copyFileSync(repoPath('sdk/README.md'), `${OUT}/README.md`);
  // The repository's license, which npm pack ships beside the manifest that names it.
  copyFileSync(repoPath('LICENSE'), `${OUT}/LICENSE`);
}

if (import.meta.url === `file://${process.argv[1]}`) await buildSdk();

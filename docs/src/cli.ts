/** `npm run docs:build [-- <out-dir>]`: writes the static docs site (build.ts), to docs/dist/ by default. */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildStaticSite } from './build';

const outDir = resolve(process.argv[2] ?? fileURLToPath(new URL('../dist/', import.meta.url)));
const files = await buildStaticSite(outDir);
console.log(`docs: wrote ${files.length} files to ${outDir}`);

/**
 * `npm run generate:check`: regenerates everything from the spec and fails if that changed any
 * file under the generated paths, so what is committed is always what the spec produces.
 */
import { execFileSync } from 'node:child_process';
import { repoPath } from './lib/paths';

/** Generated files, and files with generated parts (the SDK README's resource table). */
const GENERATED = [
  'openapi/dist',
  'sdk/src/generated',
  'server-stub/src/generated',
  'mocks/src/generated',
  'sdk/README.md',
];

execFileSync(process.execPath, ['--import', 'tsx', repoPath('scripts/generate.ts')], {
  stdio: 'inherit',
  cwd: repoPath('.'),
});
const drift = execFileSync('git', ['status', '--porcelain', '--', ...GENERATED], {
  cwd: repoPath('.'),
  encoding: 'utf8',
}).trim();
if (drift) {
  console.error(
    `Generated files differ from what the spec produces; run \`npm run generate\` and commit:\n${drift}`,
  );
  process.exit(1);
}
console.log('Generated files match the spec.');

/**
 * `npm run spec:breaking`: the spec (openapi/dist/openapi.json) against the last released one (the
 * highest version in openapi/released/, a snapshot of the bundle as released), failing on any
 * change that breaks the released version's users (scripts/lib/breaking-changes.ts) unless the
 * spec's `info.version` says it is a breaking release: a new major, or before 1.0 a new minor.
 * Releasing: copy openapi/dist/openapi.json to openapi/released/<version>.json.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { breakingChanges } from './lib/breaking-changes';
import type { OpenApiDocument } from './lib/openapi';
import { repoPath } from './lib/paths';

type Document = OpenApiDocument & { info: { version: string } };

const parse = (version: string): number[] => version.split('.').map(Number);
const read = (path: string): Document => JSON.parse(readFileSync(repoPath(path), 'utf8')) as Document;

/** Whether going from `released` to `next` may break users, by semantic versioning. */
export function isBreakingRelease(released: string, next: string): boolean {
  const [major = 0, minor = 0] = parse(released);
  const [nextMajor = 0, nextMinor = 0] = parse(next);
  return nextMajor > major || (major === 0 && nextMajor === 0 && nextMinor > minor);
}

const releasedVersions = readdirSync(repoPath('openapi/released'))
  .filter((file) => /^\d+\.\d+\.\d+\.json$/.test(file))
  .map((file) => file.slice(0, -'.json'.length))
  .sort((a, b) => {
    const [x, y] = [parse(a), parse(b)];
    return x[0]! - y[0]! || x[1]! - y[1]! || x[2]! - y[2]!;
  });
const last = releasedVersions.at(-1);
if (last === undefined) throw new Error('openapi/released/ holds no released spec (<version>.json)');
const current = read('openapi/dist/openapi.json');
const breaks = breakingChanges(read(`openapi/released/${last}.json`), current);
if (breaks.length === 0) {
  console.log(`No breaking changes against the released ${last}.`);
} else if (isBreakingRelease(last, current.info.version)) {
  console.log(`${breaks.length} breaking changes against ${last}, allowed in ${current.info.version}:`);
  for (const line of breaks) console.log(`  ${line}`);
} else {
  console.error(
    `${breaks.length} breaking changes against the released ${last} (the spec says ${current.info.version}):`,
  );
  for (const line of breaks) console.error(`  ${line}`);
  console.error('Keep the old behaviour beside the new one, or make this a breaking release (info.version).');
  process.exit(1);
}

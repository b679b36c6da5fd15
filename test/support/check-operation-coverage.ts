/**
 * Run after `vitest run` (see `npm test`): fails unless every operation of the spec was called
 * by some test and answered with a validated success, and every 4xx the spec declares for it
 * was provoked and validated at least once. 5xx are declared for honesty, not provoked. Every
 * problem `code` the tests saw must also have its section in the errors guide, where the
 * problem's `type` points.
 */
import { readFileSync } from 'node:fs';
import { readCallLog } from './call-log';
import { declaredClientErrors, specOperations } from './spec';

const seen = new Map<string, Set<number>>();
const codes = new Set<string>();
for (const call of readCallLog()) {
  if (call.code) codes.add(call.code);
  const statuses = seen.get(call.operationId) ?? new Set<number>();
  statuses.add(call.status);
  seen.set(call.operationId, statuses);
}

const gaps = specOperations.flatMap((operation) => {
  const statuses = seen.get(operation.operationId) ?? new Set<number>();
  const missing: string[] = [];
  if (![...statuses].some((status) => status >= 200 && status < 300)) missing.push('no validated success');
  const unprovoked = declaredClientErrors(operation).filter((status) => !statuses.has(status));
  if (unprovoked.length > 0) missing.push(`declared but never provoked: ${unprovoked.join(', ')}`);
  return missing.length > 0 ? [`${operation.operationId}: ${missing.join('; ')}`] : [];
});

const guide = readFileSync(new URL('../../docs/guides/errors.md', import.meta.url), 'utf8');
const undocumented = [...codes].filter((code) => !guide.includes(`#### \`${code}\``)).sort();

if (gaps.length > 0)
  console.error(
    `Operation coverage is incomplete (${gaps.length} of ${specOperations.length} operations):\n  ${gaps.join('\n  ')}`,
  );
if (undocumented.length > 0)
  console.error(
    `docs/guides/errors.md has no section for these problem codes the API answered: ${undocumented.join(', ')}`,
  );
if (gaps.length > 0 || undocumented.length > 0) process.exit(1);
const calls = [...seen.values()].reduce((sum, statuses) => sum + statuses.size, 0);
console.log(
  `Operation coverage: all ${specOperations.length} operations succeeded and provoked every declared 4xx (${calls} operation/status pairs validated); all ${codes.size} problem codes seen are in the errors guide.`,
);

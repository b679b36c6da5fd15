/**
 * Run after `vitest run` (see `npm test`): fails unless every operation of the spec was called
 * by some test and answered with a validated success, and every 4xx the spec declares for it
 * was provoked and validated at least once. 5xx are declared for honesty, not provoked. Every
 * problem `code` the tests saw must also have its section in the errors guide, where the
 * problem's `type` points.
 *
 * It also writes `operation-coverage.md` beside the call log: for each operation, each status it
 * answered and the test files that saw it ("where is X tested?"). `--verbose` prints it too.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { CALL_LOG_DIR, readCallLog } from './call-log';
import { declaredClientErrors, specOperations } from './spec';

/** operationId → status → the test files that saw it. */
const seen = new Map<string, Map<number, Set<string>>>();
const codes = new Set<string>();
for (const call of readCallLog()) {
  if (call.code) codes.add(call.code);
  const statuses = seen.get(call.operationId) ?? new Map<number, Set<string>>();
  statuses.set(call.status, (statuses.get(call.status) ?? new Set<string>()).add(call.file));
  seen.set(call.operationId, statuses);
}

const report = [
  '# Operation coverage: where each operation is tested',
  '',
  ...specOperations.flatMap((operation) => {
    const statuses = [...(seen.get(operation.operationId) ?? new Map<number, Set<string>>())].sort(
      ([a], [b]) => a - b,
    );
    return [
      `## ${operation.operationId} (${operation.method} ${operation.path})`,
      '',
      ...(statuses.length > 0
        ? statuses.map(([status, files]) => `- ${status}: ${[...files].sort().join(', ')}`)
        : ['- never called']),
      '',
    ];
  }),
].join('\n');
const reportPath = `${CALL_LOG_DIR}/operation-coverage.md`;
mkdirSync(CALL_LOG_DIR, { recursive: true });
writeFileSync(reportPath, report);
if (process.argv.includes('--verbose')) console.log(report);

const gaps = specOperations.flatMap((operation) => {
  const statuses = new Set(seen.get(operation.operationId)?.keys());
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
    `Operation coverage is incomplete (${gaps.length} of ${specOperations.length} operations; what the tests did: ${reportPath}):\n  ${gaps.join('\n  ')}`,
  );
if (undocumented.length > 0)
  console.error(
    `docs/guides/errors.md has no section for these problem codes the API answered: ${undocumented.join(', ')}`,
  );
if (gaps.length > 0 || undocumented.length > 0) process.exit(1);
const calls = [...seen.values()].reduce((sum, statuses) => sum + statuses.size, 0);
console.log(
  `Operation coverage: all ${specOperations.length} operations succeeded and provoked every declared 4xx (${calls} operation/status pairs validated); all ${codes.size} problem codes seen are in the errors guide. Which test files cover each operation: ${reportPath}`,
);

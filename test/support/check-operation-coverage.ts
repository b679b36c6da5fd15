/**
 * Run after `vitest run` (see `npm test`): fails unless every operation of the spec was called
 * by some test and answered with a validated success, and every 4xx the spec declares for it
 * was provoked and validated at least once. 5xx are declared for honesty, not provoked.
 */
import { readCallLog } from './call-log';
import { declaredClientErrors, specOperations } from './spec';

const seen = new Map<string, Set<number>>();
for (const call of readCallLog()) {
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

if (gaps.length > 0) {
  console.error(`Operation coverage is incomplete (${gaps.length} of ${specOperations.length} operations):\n  ${gaps.join('\n  ')}`);
  process.exit(1);
}
const calls = [...seen.values()].reduce((sum, statuses) => sum + statuses.size, 0);
console.log(`Operation coverage: all ${specOperations.length} operations succeeded and provoked every declared 4xx (${calls} operation/status pairs validated).`);

/**
 * The record of every API call the tests made and validated against the spec. Each test worker
 * appends JSON lines to its own file; check-operation-coverage.ts reads them all after the run.
 */
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * `MERIDIAN_CALL_LOG_DIR` moves the log elsewhere, so that two runs in one checkout at the same
 * time (each starts by emptying the log) do not erase each other's record.
 */
export const CALL_LOG_DIR =
  process.env.MERIDIAN_CALL_LOG_DIR ?? fileURLToPath(new URL('../.results/calls', import.meta.url));

export interface LoggedCall {
  operationId: string;
  status: number;
  /** The problem's `code`, for error answers. */
  code?: string;
  /** The test file that made the call, relative to the repository root. */
  file: string;
}

export function logCall(call: LoggedCall): void {
  appendFileSync(`${CALL_LOG_DIR}/worker-${process.pid}.jsonl`, `${JSON.stringify(call)}\n`);
}

export function readCallLog(): LoggedCall[] {
  if (!existsSync(CALL_LOG_DIR)) return [];
  return readdirSync(CALL_LOG_DIR)
    .filter((name) => name.endsWith('.jsonl'))
    .flatMap((name) => readFileSync(`${CALL_LOG_DIR}/${name}`, 'utf8').split('\n').filter(Boolean))
    .map((line) => JSON.parse(line) as LoggedCall);
}

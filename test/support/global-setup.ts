/**
 * Starts each `vitest run` with an empty call log; check-operation-coverage.ts reads it after
 * the run to prove every operation and every declared 4xx was exercised and validated.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { CALL_LOG_DIR } from './call-log';

export default function setup(): void {
  rmSync(CALL_LOG_DIR, { recursive: true, force: true });
  mkdirSync(CALL_LOG_DIR, { recursive: true });
}

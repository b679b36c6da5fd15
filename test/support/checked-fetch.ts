/**
 * A `fetch` for the SDK that checks every response against the spec (the conformance runner's
 * checkExchange, mocks/src/conformance/exchange.ts) and logs the call for the coverage check. A violation both throws and is remembered, so a
 * test that only looks at `error` still fails (see conformance-setup.ts).
 */
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { checkExchange } from '../../mocks/src/conformance/exchange';
import { logCall } from './call-log';
import { validator } from './response-validator';
import { specModel } from './spec';

const violations: string[] = [];

/** Violations seen since the last call, emptied by reading them. */
export function takeViolations(): string[] {
  return violations.splice(0);
}

export async function checkedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const request = new Request(input, init);
  const response = await fetch(request);
  const url = new URL(request.url);
  const { operation, violations: found, code } = await checkExchange(specModel, validator, request, response);
  if (found.length > 0) {
    const message = `${request.method} ${url.pathname} → ${response.status} breaks the spec${operation ? ` (${operation.operationId})` : ''}:\n  ${found.join('\n  ')}`;
    violations.push(message);
    throw new Error(message);
  }
  if (operation)
    logCall({
      operationId: operation.operationId,
      status: response.status,
      ...(code === undefined ? {} : { code }),
      file: testFile(),
    });
  return response;
}

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The test file running now (vitest knows it in tests and hooks alike), for the coverage report. */
function testFile(): string {
  const { testPath } = expect.getState();
  if (!testPath) throw new Error('checkedFetch is for vitest test files: no test file is running');
  return relative(REPO_ROOT, testPath);
}

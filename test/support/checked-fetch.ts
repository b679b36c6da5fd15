/**
 * A `fetch` for the SDK that checks every response against the spec (response-validator.ts)
 * and logs the call for the coverage check. A violation both throws and is remembered, so a
 * test that only looks at `error` still fails (see conformance-setup.ts).
 */
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { logCall } from './call-log';
import { responseViolations } from './response-validator';
import { findOperation } from './spec';

const violations: string[] = [];

/** Violations seen since the last call, emptied by reading them. */
export function takeViolations(): string[] {
  return violations.splice(0);
}

export async function checkedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const request = new Request(input, init);
  const response = await fetch(request);
  const url = new URL(request.url);
  // An event stream stays open: its headers are checked, its body is the caller's to read.
  const streaming = (response.headers.get('Content-Type') ?? '').startsWith('text/event-stream');
  const body = streaming ? '' : await response.clone().text();
  const operation = findOperation(request.method, url.pathname);
  const found = operation
    ? responseViolations(operation, { status: response.status, headers: response.headers, body })
    : unknownRouteViolations(response, body);
  if (found.length > 0) {
    const message = `${request.method} ${url.pathname} → ${response.status} breaks the spec${operation ? ` (${operation.operationId})` : ''}:\n  ${found.join('\n  ')}`;
    violations.push(message);
    throw new Error(message);
  }
  if (operation)
    logCall({
      operationId: operation.operationId,
      status: response.status,
      ...problemCode(response, body),
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

/** The `code` of a problem document (already validated against the spec), for the log. */
function problemCode(response: Response, body: string): { code?: string } {
  if (!(response.headers.get('Content-Type') ?? '').startsWith('application/problem+json')) return {};
  return { code: (JSON.parse(body) as { code: string }).code };
}

/** Routes outside the spec must still answer with a problem document (404 or 405). */
function unknownRouteViolations(response: Response, body: string): string[] {
  if (response.status !== 404 && response.status !== 405)
    return [`a route outside the spec answered ${response.status}`];
  if (!(response.headers.get('Content-Type') ?? '').startsWith('application/problem+json'))
    return ['a route outside the spec answered without problem+json'];
  return body.includes('"request_id"') ? [] : ['the problem document has no request_id'];
}

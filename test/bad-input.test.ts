/**
 * What a careless or hostile client sends, for every operation: malformed JSON, wrong types,
 * unknown enum values, oversize strings, out-of-range numbers, unknown fields, malformed ids,
 * oversized bodies and other media types. Each must be a 4xx problem (never a 5xx) that names
 * the offending field, and must write nothing.
 */
import { describe, expect, it } from 'vitest';
import { mutationsOf, unknownQueryParameter } from './support/mutations';
import { callOperation, clientFor, validCalls, type CallOptions } from './support/operations';
import { expectProblem } from './support/problem';
import { useTestServer } from './support/use-test-server';
import { snapshot } from './support/snapshot';
import { specOperations, type SpecOperation } from './support/spec';

const t = useTestServer({ world: true });

async function send(operation: SpecOperation, call: CallOptions) {
  const client = clientFor(t, t.world, operation);
  const before = await snapshot(t);
  const result = await callOperation(operation.operationId, client, call);
  expect(await snapshot(t), `${operation.operationId} wrote something`).toBe(before);
  return result;
}

const withMutations = specOperations
  .map((op) => ({ op, mutations: mutationsOf(op) }))
  .filter(({ mutations }) => mutations.length > 0);

describe.each(withMutations.map(({ op, mutations }) => [op.operationId, op, mutations] as const))(
  '%s',
  (_name, operation, mutations) => {
    it.each(mutations.map((m) => [m.description, m] as const))(
      'refuses %s with 400',
      async (_description, mutation) => {
        const problem = expectProblem(
          await send(operation, mutation.apply(validCalls[operation.operationId]!(t.world))),
          400,
          mutation.description === 'malformed JSON' ? 'malformed_json' : 'validation_failed',
        );
        if (mutation.blames)
          expect(
            problem.errors?.map((issue) => issue.path),
            JSON.stringify(problem.errors),
          ).toContainEqual(expect.stringMatching(new RegExp(`^${mutation.blames}`)));
      },
    );
  },
);

const withBodies = specOperations.filter((op) => op.requestBody);

describe.each(withBodies.map((op) => [op.operationId, op] as const))('%s', (_name, operation) => {
  it('refuses a body over its limit (100 KB of JSON, 2 MiB of image) with 413', async () => {
    const call = validCalls[operation.operationId]!(t.world);
    const image = !operation.requestBody!.content['application/json'];
    const result = await send(operation, {
      ...call,
      bodySerializer: image
        ? () => 'x'.repeat(2.5 * 1024 * 1024)
        : () => JSON.stringify({ ...(call.body as object), padding: 'x'.repeat(150_000) }),
    });
    expectProblem(result, 413, 'payload_too_large');
  });

  it('refuses a body that is not application/json with 415', async () => {
    const call = validCalls[operation.operationId]!(t.world);
    const result = await send(operation, {
      ...call,
      headers: { ...call.headers, 'Content-Type': 'text/plain' },
      bodySerializer: (body) => JSON.stringify(body),
    });
    expectProblem(result, 415, 'unsupported_media_type');
  });
});

describe.each(specOperations.map((op) => [op.operationId, op] as const))('%s', (_name, operation) => {
  it('refuses a query parameter it does not take with 400, naming it', async () => {
    const call = validCalls[operation.operationId]!(t.world);
    const problem = expectProblem(
      await send(operation, unknownQueryParameter.apply(call)),
      400,
      'validation_failed',
    );
    expect(problem.errors).toContainEqual({
      path: '/query/stauts',
      message: expect.stringMatching(/^Unknown query parameter "stauts" for this operation; it takes /),
    });
  });
});

describe('routes outside the spec', () => {
  it('answers an unknown path with a 404 problem', async () => {
    const response = await fetch(`${t.url}/v1/no-such-thing`, {
      headers: { Authorization: `Bearer ${t.adminToken}` },
    });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await response.json()).toMatchObject({ code: 'route_not_found', status: 404 });
  });

  it('answers a known path with the wrong method with 405 and Allow', async () => {
    const response = await fetch(`${t.url}/v1/sites`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${t.adminToken}` },
    });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, POST');
    expect(await response.json()).toMatchObject({ code: 'method_not_allowed', status: 405 });
  });
});

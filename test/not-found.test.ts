/**
 * Every operation on one resource answers 404 problem+json for a well-formed id that does not
 * exist (the spec's own example ids), even for an admin who could see anything (or, on agent
 * routes, for the device's own agent), and writes nothing. Ids that are not well-formed are 400: see bad-input.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callOperation, clientFor, validCalls } from './support/operations';
import { startTestServer, type TestServer } from './support/server';
import { snapshot } from './support/snapshot';
import { deref, specOperations } from './support/spec';
import { buildWorld, type World } from './support/world';

let t: TestServer;
let world: World;
beforeAll(async () => {
  t = await startTestServer();
  world = await buildWorld(t);
});
afterAll(() => t.close());

const byId = specOperations.filter((op) => op.parameters.some((p) => p.in === 'path'));
/** Built-in catalogues, whose example ids exist by construction: a well-formed id that does not. */
const MISSING: Record<string, string> = { device_type: 'no-such-device-type' };

describe.each(byId.map((op) => [op.operationId, op] as const))('%s', (operationId, operation) => {
  it('is 404 for an id that does not exist', async () => {
    const call = validCalls[operationId]!(world);
    const path = Object.fromEntries(
      operation.parameters
        .filter((p) => p.in === 'path')
        .map((p) => [p.name, MISSING[p.name] ?? deref<{ examples: string[] }>(p.schema).examples[0]!]),
    );
    const before = await snapshot(t);
    const result = await callOperation(operationId, clientFor(t, world, operation), { ...call, path });
    expect(result.response.status).toBe(404);
    expect(result.error).toMatchObject({ code: 'not_found', status: 404 });
    expect(await snapshot(t)).toBe(before);
  });
});

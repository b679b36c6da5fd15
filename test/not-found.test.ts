/**
 * Every operation on one resource answers 404 problem+json for a well-formed id that does not
 * exist (the spec's own example ids), even for an admin who could see anything (or, on agent
 * routes, for the device's own agent), and writes nothing. Ids that are not well-formed are 400: see bad-input.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { callOperation, clientFor, validCalls } from './support/operations';
import { expectProblem } from './support/problem';
import { useTestServer } from './support/use-test-server';
import { snapshot } from './support/snapshot';
import { deref, specOperations } from './support/spec';

const t = useTestServer({ world: true });

/**
 * The agent download's only path parameter is a platform, a closed list with no well-formed value
 * that is missing: its 404 (`no_agent_release`, no build in the channel) is in agent-downloads.test.ts.
 */
const NOTHING_MISSING = new Set(['downloadAgent']);
const byId = specOperations.filter(
  (op) => op.parameters.some((p) => p.in === 'path') && !NOTHING_MISSING.has(op.operationId),
);
/** Built-in catalogues, whose example ids exist by construction: a well-formed id that does not. */
const MISSING: Record<string, string> = { device_type: 'no-such-device-type' };

describe.each(byId.map((op) => [op.operationId, op] as const))('%s', (operationId, operation) => {
  it('is 404 for an id that does not exist', async () => {
    const call = validCalls[operationId]!(t.world);
    const path = Object.fromEntries(
      operation.parameters
        .filter((p) => p.in === 'path')
        .map((p) => [p.name, MISSING[p.name] ?? deref<{ examples: string[] }>(p.schema).examples[0]!]),
    );
    const before = await snapshot(t);
    const result = await callOperation(operationId, clientFor(t, t.world, operation), { ...call, path });
    expectProblem(result, 404, 'not_found');
    expect(await snapshot(t)).toBe(before);
  });
});

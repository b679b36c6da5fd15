/**
 * The MSW handlers serve the spec's examples, so the examples must obey the spec: every body
 * the handlers serve (through the handlers themselves, and through `errorResponse`) conforms
 * to its response (status, content type, headers, schema), every request-body example
 * validates against its schema, and the generated table covers exactly the spec's operations.
 * Validation is the cross-package tests' (test/support), which compiles the whole bundled spec
 * into Ajv 2020 so that `$ref`s resolve.
 */
import { describe, expect, it } from 'vitest';
import { getResponse } from 'msw';
import {
  createHandlers,
  errorResponse,
  mockOperations,
  type ErrorStatus,
  type OperationId,
} from '../src/index';
import { responseViolations, schemaValidator } from '../../test/support/response-validator';
import { schemaPointer } from '../../scripts/lib/openapi';
import { deref, specOperations, type SpecOperation } from '../../test/support/spec';

const ORIGIN = 'http://mocks.test';
const handlers = createHandlers({ baseUrl: ORIGIN });

/** The spec's path with each parameter replaced by its schema's first example (a valid id). */
function examplePath(operation: SpecOperation): string {
  return operation.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const parameter = operation.parameters.find((p) => p.in === 'path' && p.name === name);
    const examples = deref<{ examples?: string[] }>(parameter?.schema).examples;
    if (!examples?.[0]) throw new Error(`${operation.operationId}: path parameter ${name} has no example`);
    return examples[0];
  });
}

async function violationsOf(operation: SpecOperation, response: Response): Promise<string[]> {
  return responseViolations(operation, {
    status: response.status,
    headers: response.headers,
    body: await response.text(),
  });
}

describe('the generated table', () => {
  it('has one entry per operation of the spec, with its method and path', () => {
    const fromSpec = specOperations
      .map((op) => [op.operationId, op.method.toLowerCase(), op.path.replace(/\{([^}]+)\}/g, ':$1')])
      .sort();
    const generated = Object.entries(mockOperations)
      .map(([id, op]) => [id, op.method, op.path])
      .sort();
    expect(generated).toEqual(fromSpec);
  });

  it('has an example for every declared 4xx and 5xx', () => {
    for (const operation of specOperations) {
      const declared = Object.keys(operation.responses).filter((status) => /^[45]\d\d$/.test(status));
      expect(
        Object.keys(mockOperations[operation.operationId as OperationId].errors),
        operation.operationId,
      ).toEqual(declared.sort());
    }
  });
});

describe.each(specOperations.map((operation) => [operation.operationId, operation] as const))(
  '%s',
  (operationId, operation) => {
    it('is answered by its handler with its success example, which conforms to the spec', async () => {
      const request = new Request(`${ORIGIN}${examplePath(operation)}`, { method: operation.method });
      const response = await getResponse(handlers, request);
      if (!response) throw new Error(`no handler answered ${operation.method} ${examplePath(operation)}`);
      const success = mockOperations[operationId as OperationId].success;
      expect(response.status).toBe(success.status);
      expect(response.headers.get('Request-Id')).toBe(success.headers['Request-Id']);
      expect(await violationsOf(operation, response)).toEqual([]);
    });

    it('has error examples that conform to the spec', async () => {
      const id = operationId as OperationId;
      for (const status of Object.keys(mockOperations[id].errors)) {
        const response = errorResponse(id, Number(status) as ErrorStatus<typeof id>);
        expect(response.status).toBe(Number(status));
        expect(response.headers.get('Content-Type')).toBe('application/problem+json');
        expect(await violationsOf(operation, response), `${operationId} ${status}`).toEqual([]);
      }
    });
  },
);

describe('request-body examples', () => {
  const bodies = specOperations.flatMap((operation) => {
    if (!operation.requestBody) return [];
    return Object.entries(operation.requestBody.content).map(([mediaType, content]) => {
      const named = Object.values(content.examples ?? {}).map(
        (example) => deref<{ value: unknown }>(example).value,
      );
      return {
        name: `${operation.operationId} ${mediaType}`,
        pointer: schemaPointer(operation, 'requestBody', mediaType),
        examples: 'example' in content ? [content.example, ...named] : named,
      };
    });
  });

  it('exist for every operation that takes a body', () => {
    expect(bodies.length).toBeGreaterThan(0);
    for (const body of bodies) expect(body.examples.length, body.name).toBeGreaterThan(0);
  });

  it.each(bodies.map((body) => [body.name, body] as const))(
    '%s: every example validates against the request schema',
    (_, body) => {
      const validate = schemaValidator(body.pointer);
      for (const example of body.examples)
        expect(validate(example) ? [] : validate.errors, JSON.stringify(example)).toEqual([]);
    },
  );
});

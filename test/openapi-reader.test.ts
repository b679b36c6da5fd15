/**
 * The one OpenAPI reader (scripts/lib/openapi.ts) that the generators and the tests share: which
 * operations are public, how path-level and operation-level parameters combine, and that no
 * method is dropped on the way to a generator.
 */
import { describe, expect, it } from 'vitest';
import { type OpenApiDocument, operations, securityOf } from '../scripts/lib/openapi';
import { contractSource } from '../server-stub/scripts/generate-contract';

const ok = { '200': { description: 'OK' } };

function document(extra: Partial<OpenApiDocument> = {}): OpenApiDocument {
  return {
    security: [{ bearerAuth: ['devices:read'] }, { cookieAuth: ['devices:read'] }],
    paths: {
      '/v1/things/{thing_id}': {
        parameters: [
          { name: 'thing_id', in: 'path', required: true, schema: { type: 'string' } },
          { $ref: '#/components/parameters/Verbose' },
        ],
        get: { operationId: 'getThing', responses: ok },
        head: { operationId: 'headThing', security: [], responses: ok },
        delete: {
          operationId: 'deleteThing',
          security: [{}],
          parameters: [
            { name: 'verbose', in: 'query', required: true, schema: { type: 'boolean' } },
            { name: 'verbose', in: 'header', schema: { type: 'string' } },
          ],
          responses: ok,
        },
        post: { operationId: 'optionalAuth', security: [{}, { agentAuth: ['b', 'a'] }], responses: ok },
      },
    },
    components: {
      parameters: { Verbose: { name: 'verbose', in: 'query', schema: { type: 'integer' } } },
    },
    ...extra,
  };
}

describe('securityOf', () => {
  const spec = document();
  const byId = Object.fromEntries(
    operations(spec).map((op) => [op.operationId, securityOf(op.operation, spec)]),
  );

  it('inherits the document security when the operation has none', () => {
    expect(byId.getThing).toEqual({ public: false, agent: false, scopes: ['devices:read'] });
  });

  it('calls an operation public when its security is empty or holds an empty requirement', () => {
    expect(byId.headThing).toEqual({ public: true, agent: false, scopes: [] });
    expect(byId.deleteThing).toEqual({ public: true, agent: false, scopes: [] });
    expect(byId.optionalAuth).toEqual({ public: true, agent: true, scopes: ['a', 'b'] });
  });

  it('calls an operation public when neither it nor the document asks for anything', () => {
    const open = document({ security: undefined });
    expect(securityOf(operations(open)[0]!.operation, open).public).toBe(true);
  });
});

describe('operations', () => {
  it('lists every method, HEAD included, in a fixed order', () => {
    expect(operations(document()).map((op) => `${op.method} ${op.operationId}`)).toEqual([
      'get getThing',
      'post optionalAuth',
      'delete deleteThing',
      'head headThing',
    ]);
  });

  it('merges path-level parameters, resolved, with the operation overriding by name and location', () => {
    const [get, , del] = operations(document());
    expect(get!.parameters.map((p) => [p.in, p.name, p.schema.type])).toEqual([
      ['path', 'thing_id', 'string'],
      ['query', 'verbose', 'integer'],
    ]);
    expect(del!.parameters.map((p) => [p.in, p.name, p.schema.type, p.required ?? false])).toEqual([
      ['path', 'thing_id', 'string', true],
      ['query', 'verbose', 'boolean', true],
      ['header', 'verbose', 'string', false],
    ]);
  });

  it('refuses an operation without an operationId, or one used twice', () => {
    const spec = document();
    delete spec.paths['/v1/things/{thing_id}']!.get!.operationId;
    expect(() => operations(spec)).toThrow('GET /v1/things/{thing_id} has no operationId');
    const twice = document();
    twice.paths['/v1/things/{thing_id}']!.head!.operationId = 'getThing';
    expect(() => operations(twice)).toThrow('operationId getThing is used twice');
  });
});

describe('the contract generator', () => {
  it('fails on a method ts-rest cannot bind instead of leaving the operation out', () => {
    const spec: OpenApiDocument = {
      paths: {
        '/health': {
          get: { operationId: 'getHealth', summary: 'Health', tags: ['Meta'], security: [], responses: ok },
          head: { operationId: 'headHealth', summary: 'Health', tags: ['Meta'], security: [], responses: ok },
        },
      },
      components: { schemas: {} },
    };
    expect(() => contractSource(spec)).toThrow(
      'generate-contract: headHealth is HEAD /health, but only GET, POST, PUT, PATCH, DELETE are supported',
    );
    delete spec.paths['/health']!.head;
    expect(contractSource(spec)).toContain('getHealth: {');
  });
});

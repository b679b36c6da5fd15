/** The bundled spec, read the way the tests need it: operations, and which one a request hit. */
import { readFileSync } from 'node:fs';
import { resolveRef } from '../../scripts/lib/openapi-ref';

export const SPEC_PATH = new URL('../../openapi/dist/openapi.json', import.meta.url);

export interface SpecDocument {
  paths: Record<string, Record<string, unknown>>;
  components: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

export interface MediaTypeObject {
  schema?: unknown;
  example?: unknown;
  examples?: Record<string, { value: unknown }>;
}

export interface HeaderObject {
  required?: boolean;
  schema?: unknown;
}

export interface ResponseObject {
  description: string;
  headers?: Record<string, HeaderObject>;
  content?: Record<string, MediaTypeObject>;
}

export interface ParameterObject {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema: Record<string, unknown>;
}

export interface SpecOperation {
  operationId: string;
  method: string;
  path: string;
  /** True when the operation needs no credentials (`security: []`). */
  public: boolean;
  /** True for agent routes (`agentAuth`): only a device's access token is accepted. */
  agent: boolean;
  scopes: string[];
  parameters: ParameterObject[];
  requestBody?: { required?: boolean; content: Record<string, MediaTypeObject> };
  responses: Record<string, ResponseObject>;
  pattern: RegExp;
}

export const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as SpecDocument;

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** Follows local `$ref`s in the bundled spec (see scripts/lib/openapi-ref.ts). */
export function deref<T>(value: unknown): T {
  return resolveRef(spec, value) as T;
}

function toPattern(path: string): RegExp {
  const escaped = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+');
  return new RegExp(`^${escaped}$`);
}

export const specOperations: SpecOperation[] = Object.entries(spec.paths).flatMap(([path, item]) => {
  const shared = (item.parameters as unknown[] | undefined) ?? [];
  return Object.entries(item)
    .filter(([method]) => HTTP_METHODS.includes(method))
    .map(([method, raw]) => {
      const operation = raw as Record<string, unknown>;
      const security = (operation.security ?? spec.security ?? []) as Record<string, string[]>[];
      const responses = Object.fromEntries(
        Object.entries(operation.responses as Record<string, unknown>).map(([status, response]) => [
          status,
          deref<ResponseObject>(response),
        ]),
      );
      return {
        operationId: operation.operationId as string,
        method: method.toUpperCase(),
        path,
        public: security.length === 0,
        agent: security.some((requirement) => 'agentAuth' in requirement),
        scopes: [...new Set(security.flatMap((requirement) => Object.values(requirement).flat()))],
        parameters: [...shared, ...((operation.parameters as unknown[] | undefined) ?? [])].map((p) =>
          deref<ParameterObject>(p),
        ),
        ...(operation.requestBody
          ? { requestBody: deref<SpecOperation['requestBody']>(operation.requestBody) }
          : {}),
        responses,
        pattern: toPattern(path),
      } satisfies SpecOperation;
    });
});

/** The operation a request was for, or undefined when the spec has no such route. */
export function findOperation(method: string, pathname: string): SpecOperation | undefined {
  return specOperations.find((op) => op.method === method.toUpperCase() && op.pattern.test(pathname));
}

export function operationById(operationId: string): SpecOperation {
  const operation = specOperations.find((op) => op.operationId === operationId);
  if (!operation) throw new Error(`The spec has no operation ${operationId}`);
  return operation;
}

/** The declared error statuses (4xx) of an operation. */
export function declaredClientErrors(operation: SpecOperation): number[] {
  return Object.keys(operation.responses)
    .filter((s) => /^4\d\d$/.test(s))
    .map(Number);
}

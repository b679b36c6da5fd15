/** The bundled spec, read the way the tests need it: operations, and which one a request hit. */
import { readFileSync } from 'node:fs';
import {
  type LocatedOperation,
  type OpenApiDocument,
  type OperationSecurity,
  operations,
  resolveRef,
  securityOf,
} from '../../scripts/lib/openapi';

export type {
  HeaderObject,
  MediaTypeObject,
  ParameterObject,
  ResponseObject,
} from '../../scripts/lib/openapi';

export const SPEC_PATH = new URL('../../openapi/dist/openapi.json', import.meta.url);

/** An operation of the spec (scripts/lib/openapi.ts) with what the tests ask of it. */
export interface SpecOperation extends Omit<LocatedOperation, 'method'>, OperationSecurity {
  /** Upper case, as on the wire: `GET`. */
  method: string;
  pattern: RegExp;
}

export const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as OpenApiDocument;

/** Follows local `$ref`s in the bundled spec (see scripts/lib/openapi.ts). */
export function deref<T>(value: unknown): T {
  return resolveRef(spec, value as T);
}

function toPattern(path: string): RegExp {
  const escaped = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+');
  return new RegExp(`^${escaped}$`);
}

export const specOperations: SpecOperation[] = operations(spec).map((located) => ({
  ...located,
  ...securityOf(located.operation, spec),
  method: located.method.toUpperCase(),
  pattern: toPattern(located.path),
}));

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

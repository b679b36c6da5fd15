/**
 * A bundled Meridian spec read the way conformance checks need it: its operations (with their
 * security), which operation a request was for, and `$ref`s followed. The project's tests
 * (test/support/spec.ts) and the conformance runner both build theirs with `createSpecModel`.
 */
import {
  type LocatedOperation,
  type OpenApiDocument,
  type OperationSecurity,
  operations,
  resolveRef,
  securityOf,
} from '../../../scripts/lib/openapi';

/** An operation of the spec (scripts/lib/openapi.ts) with what the checks ask of it. */
export interface SpecOperation extends Omit<LocatedOperation, 'method'>, OperationSecurity {
  /** Upper case, as on the wire: `GET`. */
  method: string;
  pattern: RegExp;
}

export interface SpecModel {
  spec: OpenApiDocument;
  /** Follows local `$ref`s in the bundled spec (see scripts/lib/openapi.ts). */
  deref<T>(value: unknown): T;
  specOperations: SpecOperation[];
  /** The operation a request was for, or undefined when the spec has no such route. */
  findOperation(method: string, pathname: string): SpecOperation | undefined;
  operationById(operationId: string): SpecOperation;
}

function toPattern(path: string): RegExp {
  const escaped = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+');
  return new RegExp(`^${escaped}$`);
}

export function createSpecModel(spec: OpenApiDocument): SpecModel {
  const specOperations: SpecOperation[] = operations(spec).map((located) => ({
    ...located,
    ...securityOf(located.operation, spec),
    method: located.method.toUpperCase(),
    pattern: toPattern(located.path),
  }));
  return {
    spec,
    deref: <T>(value: unknown): T => resolveRef(spec, value as T),
    specOperations,
    findOperation: (method, pathname) =>
      specOperations.find((op) => op.method === method.toUpperCase() && op.pattern.test(pathname)),
    operationById: (operationId) => {
      const operation = specOperations.find((op) => op.operationId === operationId);
      if (!operation) throw new Error(`The spec has no operation ${operationId}`);
      return operation;
    },
  };
}

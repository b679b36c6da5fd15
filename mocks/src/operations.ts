/**
 * Names for what the generated table holds, so that overrides and `errorResponse` are checked
 * by the compiler against the spec: an unknown operationId or an undeclared error status of an
 * operation is a type error, not a surprise at run time.
 */
import type { mockOperations } from './generated/handlers.gen';

type MockOperations = typeof mockOperations;

/** The operationId of every operation in the spec: `'listDevices' | 'getDevice' | …`. */
export type OperationId = keyof MockOperations;

/** The 4xx/5xx statuses the spec declares for an operation, as numbers: `ErrorStatus<'getDevice'>` is `400 | 401 | … | 500`. */
export type ErrorStatus<Id extends OperationId> = keyof MockOperations[Id]['errors'] extends infer Key
  ? Key extends `${infer Status extends number}`
    ? Status
    : Key extends number
      ? Key
      : never
  : never;

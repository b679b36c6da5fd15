/** The bundled spec, read the way the tests need it: operations, and which one a request hit. */
import { readFileSync } from 'node:fs';
import type { OpenApiDocument } from '../../scripts/lib/openapi';
import { createSpecModel, type SpecOperation } from '../../mocks/src/conformance/spec-model';

export type {
  HeaderObject,
  MediaTypeObject,
  ParameterObject,
  ResponseObject,
} from '../../scripts/lib/openapi';
export type { SpecOperation } from '../../mocks/src/conformance/spec-model';

export const SPEC_PATH = new URL('../../openapi/dist/openapi.json', import.meta.url);

/** The spec model (mocks/src/conformance/spec-model.ts), shared with the conformance runner. */
export const specModel = createSpecModel(JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as OpenApiDocument);
export const { spec, deref, specOperations, findOperation, operationById } = specModel;

/** The declared error statuses (4xx) of an operation. */
export function declaredClientErrors(operation: SpecOperation): number[] {
  return Object.keys(operation.responses)
    .filter((s) => /^4\d\d$/.test(s))
    .map(Number);
}

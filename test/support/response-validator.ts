/**
 * Checks HTTP responses against the spec: the shared validator of the conformance runner
 * (mocks/src/conformance/response-validator.ts) on the tests' spec model.
 */
import { createResponseValidator } from '../../mocks/src/conformance/response-validator';
import { specModel } from './spec';

export type { ObservedResponse } from '../../mocks/src/conformance/response-validator';
export const validator = createResponseValidator(specModel);
export const { responseViolations, schemaValidator } = validator;

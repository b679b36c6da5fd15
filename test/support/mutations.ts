/**
 * Bad inputs derived from the spec (mocks/src/conformance/mutations.ts, shared with the
 * conformance runner), on the tests' spec model.
 */
import { type Mutation, mutationsOf as sharedMutationsOf } from '../../mocks/src/conformance/mutations';
import { deref, type SpecOperation } from './spec';

export { type Mutation, unknownQueryParameter } from '../../mocks/src/conformance/mutations';

export const mutationsOf = (operation: SpecOperation): Mutation[] => sharedMutationsOf(operation, deref);

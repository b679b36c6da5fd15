/** Fails any test during which a response broke the spec, even if the test swallowed the error. */
import { afterEach } from 'vitest';
import { takeViolations } from './checked-fetch';

afterEach(() => {
  const found = takeViolations();
  if (found.length > 0) throw new Error(`Responses broke the spec:\n${found.join('\n')}`);
});

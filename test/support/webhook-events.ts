/** Checks delivered webhook bodies against the spec's `webhooks` section. */
import { expect } from 'vitest';
import { schemaValidator } from './response-validator';

/** A delivered body matches its event type's entry in the spec's `webhooks` section. */
export function expectDeclared(body: string): void {
  const { type } = JSON.parse(body) as { type: string };
  const entry = type.startsWith('agent.') ? 'agent.*' : type;
  const validate = schemaValidator(`#/webhooks/${entry}/post/requestBody/content/application~1json/schema`);
  expect(validate(JSON.parse(body)), JSON.stringify(validate.errors)).toBe(true);
}

/**
 * Checks one HTTP response against the spec: the status is declared for the operation, the
 * content type is the declared one, the body validates against the declared schema, required
 * headers are present, and problem documents repeat the status and the Request-Id. The project's
 * tests (test/support/response-validator.ts) and the conformance runner share it.
 */
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { ValidateFunction } from 'ajv';
import { type HeaderObject, schemaPointer } from '../../../scripts/lib/openapi';
import type { SpecModel, SpecOperation } from './spec-model';

export interface ObservedResponse {
  status: number;
  headers: Headers;
  body: string;
}

export interface ResponseValidator {
  /** Returns what is wrong with the response; an empty list means it conforms. */
  responseViolations(operation: SpecOperation, observed: ObservedResponse): string[];
  /** A compiled validator of the schema at a JSON pointer into the spec (`/components/schemas/Device`). */
  schemaValidator(pointer: string): ValidateFunction;
}

export function createResponseValidator({ spec, deref }: SpecModel): ResponseValidator {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(spec, 'spec');
  const validators = new Map<string, ValidateFunction>();

  function schemaValidator(pointer: string): ValidateFunction {
    let validate = validators.get(pointer);
    if (!validate) {
      validate = ajv.compile({ $ref: `spec${pointer}` });
      validators.set(pointer, validate);
    }
    return validate;
  }

  /** Newline-delimited JSON: each line is a JSON document valid against the media type's `x-ndjson-item`. */
  function ndjsonViolations(operation: SpecOperation, declaredKey: string, body: string): string[] {
    const pointer = schemaPointer(operation, { response: declaredKey }, 'application/x-ndjson').replace(
      /\/schema$/,
      '/x-ndjson-item',
    );
    const validate = schemaValidator(pointer);
    return body
      .split('\n')
      .filter((line) => line !== '')
      .flatMap((line, i) => {
        let item: unknown;
        try {
          item = JSON.parse(line);
        } catch {
          return [`line ${i + 1} is not JSON: ${line.slice(0, 200)}`];
        }
        return validate(item)
          ? []
          : [
              `line ${i + 1} does not match the schema: ${ajv.errorsText(validate.errors, { dataVar: 'line' })}`,
            ];
      });
  }

  /** Returns what is wrong with the response; an empty list means it conforms. */
  function responseViolations(operation: SpecOperation, observed: ObservedResponse): string[] {
    const status = String(observed.status);
    const declared =
      operation.responses[status] ?? operation.responses[`${status[0]}XX`] ?? operation.responses.default;
    if (!declared)
      return [`status ${status} is not declared (declared: ${Object.keys(operation.responses).join(', ')})`];
    const declaredKey = operation.responses[status]
      ? status
      : operation.responses[`${status[0]}XX`]
        ? `${status[0]}XX`
        : 'default';

    const violations: string[] = [];
    for (const [name, header] of Object.entries(declared.headers ?? {})) {
      if (deref<HeaderObject>(header).required && !observed.headers.has(name))
        violations.push(`required header ${name} is missing`);
    }
    const requestId = observed.headers.get('Request-Id');
    if (!requestId) violations.push('Request-Id header is missing');

    const mediaTypes = Object.keys(declared.content ?? {});
    if (mediaTypes.length === 0) {
      if (observed.body.length > 0)
        violations.push(`no body is declared but got ${observed.body.length} bytes`);
      return violations;
    }
    const contentType = (observed.headers.get('Content-Type') ?? '').split(';')[0]!.trim();
    if (!mediaTypes.includes(contentType)) {
      return [
        ...violations,
        `content type ${contentType || '(none)'} is not declared (declared: ${mediaTypes.join(', ')})`,
      ];
    }
    if (contentType === 'application/x-ndjson')
      return [...violations, ...ndjsonViolations(operation, declaredKey, observed.body)];
    if (!/[/+]json$/.test(contentType)) return violations;

    let body: unknown;
    try {
      body = JSON.parse(observed.body);
    } catch {
      return [...violations, `body is not JSON: ${observed.body.slice(0, 200)}`];
    }
    const validate = schemaValidator(schemaPointer(operation, { response: declaredKey }, contentType));
    if (!validate(body)) {
      violations.push(
        `body does not match the schema: ${ajv.errorsText(validate.errors, { dataVar: 'body' })}`,
      );
    }
    if (contentType === 'application/problem+json') {
      const problem = body as { status?: number; request_id?: string };
      if (problem.status !== observed.status)
        violations.push(`problem status ${problem.status} differs from HTTP status ${observed.status}`);
      if (problem.request_id !== requestId)
        violations.push(`problem request_id ${problem.request_id} differs from Request-Id ${requestId}`);
    }
    return violations;
  }

  return { responseViolations, schemaValidator };
}

/**
 * The house rules of openapi/redocly.yaml fire. Each case is a small spec that breaks exactly one
 * convention; linted with the real config, that rule, and only that one of the house rules, reports it
 * as an error (so `redocly lint` exits non-zero). The conforming spec those cases start from, and the
 * real spec, pass. One `redocly lint` run covers all the cases (it starts slowly; the machine is shared).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

type Node = Record<string, unknown>;

/** The node at a path of keys inside a fixture. */
const at = (node: unknown, ...keys: (string | number)[]): Node =>
  keys.reduce((parent, key) => (parent as Node)[key], node) as Node;

const root = fileURLToPath(new URL('..', import.meta.url));
const CONFIG = join(root, 'openapi/redocly.yaml');
const REDOCLY = join(root, 'node_modules/.bin/redocly');
const dir = mkdtempSync(join(tmpdir(), 'meridian-lint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Problem = { ruleId: string; severity: string; location: { source: { ref: string } }[] };

/** Runs `redocly lint` on some files with the project's config: its exit code and every problem. */
function lint(files: string[]): Promise<{ code: number; problems: Problem[] }> {
  return new Promise((done, fail) => {
    execFile(REDOCLY, ['lint', ...files, '--config', CONFIG, '--format=json'], (error, stdout) => {
      if (error && typeof error.code !== 'number') return fail(error);
      // one JSON report per file, written back to back
      const reports = JSON.parse(`[${stdout.replace(/^\}\{$/gm, '},{')}]`) as { problems: Problem[] }[];
      done({ code: error ? Number(error.code) : 0, problems: reports.flatMap((report) => report.problems) });
    });
  });
}

/** Every response carries the headers the config's `response-contains-header` asks for. */
const requiredHeaders: string[] = Object.values(
  parse(readFileSync(CONFIG, 'utf8')).rules['response-contains-header'].names as Record<string, string[]>,
).flat();
const headers = Object.fromEntries(
  requiredHeaders.map((name) => [name, { schema: { type: 'string', maxLength: 64 } }]),
);
const problem = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };
const errors = Object.fromEntries(
  ['400', '401', '429', '500'].map((status) => [
    status,
    { description: 'An error.', headers, content: problem },
  ]),
);
const operation = (operationId: string, extra: Node = {}): Node => ({
  operationId,
  summary: 'An operation.',
  description: 'An operation.',
  tags: ['Things'],
  responses: {
    '200': {
      description: 'The thing.',
      headers,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } },
    },
    ...errors,
  },
  ...extra,
});

/** A spec that follows every convention, including the exemptions the rules allow. */
function conforming(): Node {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Rules',
      version: '1.0.0',
      description: 'Fixture.',
      license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
    },
    servers: [{ url: 'http://localhost:8080' }],
    tags: [{ name: 'Things', description: 'Things.' }],
    security: [{ bearerAuth: [] }],
    paths: {
      '/things/{thing_id}': {
        get: operation('getThing', {
          parameters: [
            {
              name: 'thing_id',
              in: 'path',
              required: true,
              schema: { $ref: '#/components/schemas/ThingId' },
            },
            { name: 'site_id', in: 'query', schema: { $ref: '#/components/schemas/ThingId' } },
            { name: 'page_size', in: 'query', schema: { $ref: '#/components/schemas/Count' } },
            // a header parameter keeps its HTTP spelling
            { name: 'Idempotency-Key', in: 'header', schema: { type: 'string', maxLength: 64 } },
          ],
        }),
      },
      // public operations need no 401, whichever way they say they are public
      '/public': { get: operation('getPublic', { security: [] }) },
      '/anonymous': { get: operation('getAnonymous', { security: [{}] }) },
    },
    // a webhook (what the API sends) is named by its event type and answered by the receiver: the path
    // and operation rules (kebab-case segments, 429 and 500) are not about it
    webhooks: {
      'thing.went_away': {
        post: {
          operationId: 'thingWentAway',
          summary: 'thing.went_away',
          description: 'A thing went away.',
          tags: ['Things'],
          security: [],
          requestBody: {
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } },
          },
          responses: { '200': { description: 'Received.' } },
        },
      },
    },
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } },
      schemas: {
        ThingId: { type: 'string', maxLength: 30, pattern: '^thg_[0-9A-HJKMNP-TV-Z]{26}$' },
        Count: { type: 'integer', format: 'int32', minimum: 0, maximum: 500 },
        Problem: {
          type: 'object',
          required: ['type', 'title'],
          properties: {
            type: { type: 'string', maxLength: 200 },
            title: { type: 'string', maxLength: 200 },
          },
        },
        Thing: {
          type: 'object',
          required: ['id'],
          properties: {
            id: { $ref: '#/components/schemas/ThingId' },
            owner_thing_id: { oneOf: [{ $ref: '#/components/schemas/ThingId' }, { type: 'null' }] },
            name: { type: ['string', 'null'], maxLength: 100 },
            // enum and const bound a string by themselves
            kind: { type: 'string', enum: ['small', 'large'] },
            version: { type: 'string', const: 'v1' },
            photo: { type: 'string', format: 'binary', maxLength: 2097152 },
            size: { $ref: '#/components/schemas/Count' },
            credential: { $ref: '#/components/schemas/WebAuthnCredential' },
          },
        },
        // one of WebAuthn's own JSON forms keeps its camelCase names, nested objects included
        WebAuthnCredential: {
          type: 'object',
          'x-webauthn': true,
          properties: {
            rawId: { type: 'string', maxLength: 100 },
            response: {
              type: 'object',
              'x-webauthn': true,
              properties: { clientDataJSON: { type: 'string', maxLength: 1000 } },
            },
          },
        },
      },
    },
  };
}

const properties = (spec: Node) => at(spec, 'components', 'schemas', 'Thing', 'properties');

/** One violation each: a change to the conforming spec, and the rule it must trip. */
const cases: [name: string, rule: string, breakIt: (spec: Node) => void][] = [
  [
    'a camelCase property',
    'rule/snake-case-properties',
    (spec) => {
      properties(spec).ownerName = { type: 'string', maxLength: 10 };
    },
  ],
  [
    'a camelCase query parameter',
    'rule/snake-case-parameters',
    (spec) => {
      at(spec, 'paths', '/things/{thing_id}', 'get', 'parameters', 2).name = 'pageSize';
    },
  ],
  [
    'a string without maxLength',
    'rule/string-max-length',
    (spec) => {
      properties(spec).note = { type: 'string' };
    },
  ],
  [
    'a nullable string (3.1 type list) without maxLength',
    'rule/string-max-length',
    (spec) => {
      delete at(properties(spec), 'name').maxLength;
    },
  ],
  [
    'a string nested in a oneOf without maxLength',
    'rule/string-max-length',
    (spec) => {
      properties(spec).note = { oneOf: [{ type: 'string' }, { type: 'null' }] };
    },
  ],
  [
    'a binary body without maxLength',
    'rule/string-max-length',
    (spec) => {
      delete at(properties(spec), 'photo').maxLength;
    },
  ],
  [
    'an integer without bounds',
    'rule/integer-bounds',
    (spec) => {
      properties(spec).total = { type: 'integer', format: 'int64', minimum: 0 };
    },
  ],
  [
    'an integer without format',
    'rule/integer-bounds',
    (spec) => {
      delete at(spec, 'components', 'schemas', 'Count').format;
    },
  ],
  [
    'a path segment in snake_case',
    'rule/paths-kebab-case',
    (spec) => {
      const paths = at(spec, 'paths');
      paths['/public_things'] = paths['/public'];
      delete paths['/public'];
    },
  ],
  [
    'an authenticated operation without 429',
    'rule/operation-429-500',
    (spec) => {
      delete at(spec, 'paths', '/things/{thing_id}', 'get', 'responses')['429'];
    },
  ],
  [
    'a public operation without 500',
    'rule/operation-429-500',
    (spec) => {
      delete at(spec, 'paths', '/public', 'get', 'responses')['500'];
    },
  ],
  [
    'an authenticated operation without 401',
    'rule/authenticated-operation-401',
    (spec) => {
      delete at(spec, 'paths', '/things/{thing_id}', 'get', 'responses')['401'];
    },
  ],
  [
    'an operation with its own security scheme without 401',
    'rule/authenticated-operation-401',
    (spec) => {
      at(spec, 'paths', '/public', 'get').security = [{ bearerAuth: [] }];
      delete at(spec, 'paths', '/public', 'get', 'responses')['401'];
    },
  ],
  [
    'an _id property without a pattern',
    'rule/id-pattern',
    (spec) => {
      properties(spec).other_id = { type: 'string', maxLength: 30 };
    },
  ],
  [
    'an _id whose pattern names no prefix',
    'rule/id-pattern',
    (spec) => {
      properties(spec).other_id = {
        type: 'string',
        maxLength: 26,
        pattern: '^[0-9]+$',
      };
    },
  ],
  [
    'a nullable _id property without a pattern',
    'rule/nullable-id-pattern',
    (spec) => {
      properties(spec).owner_thing_id = {
        oneOf: [{ type: 'string', maxLength: 30 }, { type: 'null' }],
      };
    },
  ],
  [
    'an _id path parameter without a pattern',
    'rule/id-parameter-pattern',
    (spec) => {
      at(spec, 'paths', '/things/{thing_id}', 'get', 'parameters', 0).schema = {
        type: 'string',
        maxLength: 30,
      };
    },
  ],
];

let written = 0;
function write(spec: Node): string {
  const file = join(dir, `spec-${++written}.yaml`);
  writeFileSync(file, stringify(spec));
  return file;
}

const fixtures = cases.map(([name, rule, breakIt]) => {
  const spec = conforming();
  breakIt(spec);
  return { name, rule, file: write(spec) };
});
let broken: ReturnType<typeof lint> | undefined;

describe('the house lint rules', () => {
  it('pass a spec that follows the conventions, and the real spec', async () => {
    expect(await lint([write(conforming()), join(root, 'openapi/openapi.yaml')])).toEqual({
      code: 0,
      problems: [],
    });
  });

  it.each(fixtures)('report $name as $rule', async ({ rule, file }) => {
    broken ??= lint(fixtures.map((fixture) => fixture.file));
    const { code, problems } = await broken;
    const reported = problems.filter(
      (problem) =>
        problem.ruleId.startsWith('rule/') &&
        problem.location.some((location) => location.source.ref.endsWith(`/${basename(file)}`)),
    );
    expect([...new Set(reported.map((problem) => problem.ruleId))]).toEqual([rule]);
    expect([...new Set(reported.map((problem) => problem.severity))]).toEqual(['error']);
    expect(code).not.toBe(0);
  });
});

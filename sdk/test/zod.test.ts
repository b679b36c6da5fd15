/**
 * `@meridian/sdk/zod` agrees with the SDK's types and with JSON: every example in the spec (request
 * bodies and responses) parses with the schema a user would pick for it and is written back as the
 * same JSON. (An int64 that parsed to a bigint, as hey-api's zod plugin does by default, made
 * `JSON.stringify` throw.)
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as zod from '@meridian/sdk/zod';
import type { Hardware } from '../src/index';
import { deref, type MediaTypeObject, type ResponseObject, specOperations } from '../../test/support/spec';

const GENERATED = fileURLToPath(new URL('../src/generated/', import.meta.url));

type Schema = { safeParse(value: unknown): { success: boolean; data?: unknown; error?: unknown } };

function zodSchema(name: string): Schema {
  const schema = (zod as Record<string, unknown>)[name];
  if (!schema) throw new Error(`@meridian/sdk/zod exports no ${name}`);
  return schema as Schema;
}

/** The examples of a JSON media type, by name (`example` is named "example"). */
function examplesOf(media: MediaTypeObject): [string, unknown][] {
  const named = Object.entries(media.examples ?? {}).map(
    ([name, example]) => [name, deref<{ value: unknown }>(example).value] as [string, unknown],
  );
  return media.example === undefined ? named : [['example', media.example], ...named];
}

/** The component a media type's schema names: `#/components/schemas/Problem` → `zProblem`. */
function componentSchema(media: MediaTypeObject): string {
  const ref = (media.schema as { $ref?: string } | undefined)?.$ref;
  if (!ref?.startsWith('#/components/schemas/')) throw new Error('expected a $ref to a component schema');
  return `z${ref.slice('#/components/schemas/'.length)}`;
}

const isJson = (mediaType: string) => /^application\/([\w.-]+\+)?json$/.test(mediaType);

interface Case {
  where: string;
  schema: string;
  example: unknown;
}

const cases: Case[] = specOperations.flatMap((op) => {
  const name = op.operationId.charAt(0).toUpperCase() + op.operationId.slice(1);
  const body = op.operation.requestBody
    ? deref<{ content?: Record<string, MediaTypeObject> }>(op.operation.requestBody)
    : undefined;
  const requests = Object.entries(body?.content ?? {})
    .filter(([mediaType]) => isJson(mediaType))
    .flatMap(([mediaType, media]) =>
      examplesOf(media).map(([example, value]) => ({
        where: `${op.operationId} request ${mediaType} ${example}`,
        schema: `z${name}Body`,
        example: value,
      })),
    );
  const responses = Object.entries(op.responses).flatMap(([status, response]) =>
    Object.entries(deref<ResponseObject>(response).content ?? {})
      .filter(([mediaType]) => isJson(mediaType))
      .flatMap(([mediaType, media]) =>
        examplesOf(media).map(([example, value]) => ({
          where: `${op.operationId} ${status} ${mediaType} ${example}`,
          // hey-api names the success body per operation; errors only have their component.
          schema: /^2\d\d$/.test(status) ? `z${name}Response` : componentSchema(media),
          example: value,
        })),
      ),
  );
  return [...requests, ...responses];
});

describe('@meridian/sdk/zod', () => {
  it('finds examples of request bodies, successes and problems', () => {
    expect(cases.filter((c) => c.where.includes(' request ')).length).toBeGreaterThan(10);
    expect(cases.filter((c) => / 2\d\d /.test(c.where)).length).toBeGreaterThan(40);
    expect(cases.filter((c) => c.where.includes('problem+json')).length).toBeGreaterThan(100);
  });

  it.each(cases.map((c) => [c.where, c] as const))('%s parses and writes back the same JSON', (_, c) => {
    const result = zodSchema(c.schema).safeParse(c.example);
    expect(result.error, c.schema).toBeUndefined();
    expect(JSON.parse(JSON.stringify(result.data))).toEqual(c.example);
  });

  it('parses int64 fields as the numbers the types say', () => {
    const hardware = zod.zHardware.parse({ memory_bytes: 17179869184 });
    expect(hardware.memory_bytes).toBe(17179869184);
    expectTypeOf(hardware).toEqualTypeOf<Hardware>();
  });

  it('every schema agrees with the type of the same name: what it outputs is one, what it accepts includes all', () => {
    const configPath = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
    const { config } = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path));
    const { options } = ts.parseJsonConfigFileContent(config, ts.sys, dirname(configPath));
    const typesFile = `${GENERATED}types.gen.ts`;
    const types = ts.createProgram([typesFile], { ...options, noEmit: true });
    const typeNames = new Set(
      types
        .getTypeChecker()
        .getExportsOfModule(types.getTypeChecker().getSymbolAtLocation(types.getSourceFile(typesFile)!)!)
        .map((symbol) => symbol.name),
    );
    const pairs = Object.keys(zod)
      .map((name) => name.slice(1))
      .filter((name) => typeNames.has(name));
    expect(pairs.length).toBeGreaterThan(150);

    const checkFile = `${GENERATED}zod-agrees.check.ts`;
    const check = [
      "import type { z } from 'zod';",
      "import type * as zod from './zod.gen';",
      "import type * as T from './types.gen';",
      'type Agrees<S extends z.ZodType, U> = [z.output<S>] extends [U] ? ([U] extends [z.input<S>] ? true : false) : false;',
      ...pairs.map((name) => `export const ${name}: Agrees<typeof zod.z${name}, T.${name}> = true;`),
    ].join('\n');
    const host = ts.createCompilerHost(options);
    const { fileExists, getSourceFile, readFile } = host;
    host.fileExists = (file) => file === checkFile || fileExists(file);
    host.readFile = (file) => (file === checkFile ? check : readFile(file));
    host.getSourceFile = (file, language, ...rest) =>
      file === checkFile
        ? ts.createSourceFile(file, check, language)
        : getSourceFile(file, language, ...rest);
    const program = ts.createProgram([checkFile], { ...options, noEmit: true }, host);
    const disagreeing = ts
      .getPreEmitDiagnostics(program)
      .map(({ file, start, messageText }) =>
        file?.fileName === checkFile && start !== undefined
          ? check.split('\n')[file.getLineAndCharacterOfPosition(start).line]
          : ts.flattenDiagnosticMessageText(messageText, '\n'),
      );
    expect(disagreeing).toEqual([]);
  }, 60_000);
});

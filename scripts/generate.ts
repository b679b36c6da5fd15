/**
 * `npm run generate`: everything derived from the spec, in dependency order.
 *   1. Redocly bundles openapi/ into openapi/dist/openapi.json (what every consumer reads).
 *   2. hey-api writes the SDK core (client, types, functions, zod schemas) into sdk/src/generated.
 *   3. openapi-typescript writes the `paths`/`components` types beside it.
 *   3b. The SDK's resource classes (sdk/scripts/generate-resources.ts), then `x-codeSamples` on every
 *      operation of the bundle, calling those classes' methods (sdk/scripts/generate-code-samples.ts).
 *   4. Our generator writes the server's ts-rest contract (server-stub/src/generated).
 *   5. Our generator writes MSW handlers from the spec's examples (mocks/src/generated).
 *   6. Each generated folder gets a README.md saying what writes it.
 *   Everything written is formatted by Biome (hey-api's postProcess, scripts/lib/write-generated.ts
 *   for ours), so it looks like the
 *   hand-written code and the drift check compares formatted files.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createClient } from '@hey-api/openapi-ts';
import openapiTS, { astToString } from 'openapi-typescript';
import { generateContract } from '../server-stub/scripts/generate-contract';
import { generateMswHandlers } from '../mocks/scripts/generate-msw-handlers';
import { GENERATED_HEADER, repoPath } from './lib/paths';
import { writeGeneratedFile } from './lib/write-generated';

const bundled = repoPath('openapi/dist/openapi.json');

function bundleSpec(): void {
  execFileSync(
    repoPath('node_modules/.bin/redocly'),
    ['bundle', repoPath('openapi/openapi.yaml'), '--config', repoPath('openapi/redocly.yaml'), '-o', bundled],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    },
  );
}

async function generateSdkCore(): Promise<void> {
  await createClient({
    input: bundled,
    output: { path: repoPath('sdk/src/generated'), postProcess: ['biome:format'] },
    logs: { level: 'silent' },
    plugins: [
      '@hey-api/client-fetch',
      '@hey-api/typescript',
      { name: '@hey-api/sdk', validator: false },
      {
        name: 'zod',
        // The `webhooks` entries describe what the server sends, not what the SDK sends or receives:
        // their types (`*WebhookPayload`, the `Webhooks` union) are enough, no zod schemas for them.
        webhooks: { enabled: false },
        '~resolvers': {
          // The zod schemas must agree with the types hey-api writes (sdk/test/zod.test.ts checks
          // both ways). hey-api's zod plugin always turns `format: int64` into `z.coerce.bigint()`,
          // while its TypeScript plugin types the same field `number` (hey-api/openapi-ts#1802, open)
          // and JSON has no bigint: a parsed value could not be `JSON.stringify`-ed. Every int64 the
          // spec declares must be bounded inside Number.MAX_SAFE_INTEGER (checked here), so it parses
          // as the integer the types say. A resolver that returns nothing lets the plugin build the
          // node from the patched context (https://heyapi.dev/openapi-ts/plugins/concepts/resolvers).
          number(ctx) {
            const { schema } = ctx;
            if (schema.format !== 'int64') return undefined;
            const bounds = [
              schema.minimum ?? schema.exclusiveMinimum,
              schema.maximum ?? schema.exclusiveMaximum,
            ];
            if (!bounds.every((bound) => typeof bound === 'number' && Number.isSafeInteger(bound))) {
              throw new Error(`an int64 needs minimum and maximum inside ±2^53-1 (got ${bounds.join(', ')})`);
            }
            ctx.schema = { ...schema, format: undefined };
            return undefined;
          },
          // `format: binary` is typed `Blob | File` (what the SDK sends and returns), not a string.
          string(ctx) {
            if (ctx.schema.format !== 'binary') return undefined;
            return ctx.$(ctx.symbols.z).attr('instanceof').call(ctx.$('Blob'));
          },
        },
      },
    ],
  });
}

async function generatePathTypes(): Promise<void> {
  const ast = await openapiTS(new URL(`file://${bundled}`));
  writeGeneratedFile(repoPath('sdk/src/generated/paths.gen.ts'), `${GENERATED_HEADER}\n${astToString(ast)}`);
}

/** What writes each generated folder, for the README each one carries (written last: hey-api empties its folder). */
const GENERATED_FOLDERS: Record<string, string> = {
  'sdk/src/generated':
    'hey-api (`@hey-api/openapi-ts`: `client/`, `core/`, `client.gen.ts`, `types.gen.ts`, `sdk.gen.ts`, `zod.gen.ts`),\n' +
    'openapi-typescript (`paths.gen.ts`) and `sdk/scripts/generate-resources.ts` (`resources.gen.ts`)',
  'server-stub/src/generated':
    '`server-stub/scripts/generate-contract.ts` (`contract.gen.ts`, the ts-rest contract the server is bound to)',
  'mocks/src/generated':
    '`mocks/scripts/generate-msw-handlers.ts` (`handlers.gen.ts`, the example responses the MSW handlers serve)',
};

function writeFolderReadmes(): void {
  for (const [folder, writers] of Object.entries(GENERATED_FOLDERS)) {
    writeFileSync(
      repoPath(`${folder}/README.md`),
      [
        '# Generated: do not edit by hand',
        '',
        'Every file in this folder is written by `npm run generate` (`scripts/generate.ts`) from the spec in',
        '`openapi/`, by',
        `${writers}.`,
        '',
        'To change anything here, change the spec (or the generator) and run `npm run generate`. Hand edits',
        'are lost on the next run, and `npm run generate:check` fails while a file here differs from what',
        'the spec produces.',
        '',
      ].join('\n'),
    );
  }
}

bundleSpec();
await generateSdkCore();
await generatePathTypes();
const resources = (await import('../sdk/scripts/generate-resources')).generateResources(
  bundled,
  repoPath('sdk/src/generated/resources.gen.ts'),
  repoPath('sdk/README.md'),
);
// The docs' code samples name the methods just generated; hey-api and openapi-typescript have
// already read the bundle, and what they write does not depend on x- extensions.
(await import('../sdk/scripts/generate-code-samples')).addCodeSamples(bundled, resources);
generateContract(bundled, repoPath('server-stub/src/generated/contract.gen.ts'));
generateMswHandlers(bundled, repoPath('mocks/src/generated/handlers.gen.ts'));
writeFolderReadmes();
console.log('generated: openapi/dist, sdk/src/generated, server-stub/src/generated, mocks/src/generated');

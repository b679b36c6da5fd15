/**
 * The docs' code samples (`x-codeSamples`, written into the bundled spec by
 * sdk/scripts/generate-code-samples.ts): every operation has an SDK sample and a curl sample, every
 * SDK sample type-checks against the SDK (so it names a method that exists, with arguments of the
 * right types), every curl sample sends the operation's method to its path, and the two samples of
 * a read run as they are against the real server.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoPath } from '../scripts/lib/paths';
import { type SpecOperation, operationById, specOperations as operations } from './support/spec';
import { useTestServer } from './support/use-test-server';
import { addSite } from './support/world';

const sample = (operation: SpecOperation, label: string): string | undefined =>
  operation.operation['x-codeSamples']?.find((s) => s.label === label)?.source;

/** Type-checks TypeScript sources as modules placed in test/, against the repository's SDK and tsconfig. */
function typeCheck(sources: Record<string, string>): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(
    repoPath('tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  if (!config) throw new Error('tsconfig.json could not be read');
  const files = new Map(Object.entries(sources).map(([name, text]) => [repoPath(`test/${name}.ts`), text]));
  const host = ts.createCompilerHost(config.options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (path) => files.has(path) || fileExists(path);
  host.readFile = (path) => files.get(path) ?? readFile(path);
  host.getSourceFile = (path, language, ...rest) => {
    const text = files.get(path);
    return text === undefined
      ? getSourceFile(path, language, ...rest)
      : ts.createSourceFile(path, text, language, true);
  };
  const program = ts.createProgram([...files.keys()], config.options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .map(
      (diagnostic) =>
        `${diagnostic.file?.fileName.replace(`${repoPath('test')}/`, '') ?? ''}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`,
    );
}

describe('x-codeSamples', () => {
  it('every operation has an SDK sample and a curl sample', () => {
    const missing = operations.filter(
      (operation) =>
        sample(operation, '@meridian/sdk') === undefined || sample(operation, 'curl') === undefined,
    );
    expect(missing.map((operation) => operation.operationId)).toEqual([]);
  });

  it('every SDK sample type-checks against the SDK; a wrong method name or argument would not', () => {
    const sources = Object.fromEntries(
      operations.map((operation) => [
        `code-sample-${operation.operationId}`,
        sample(operation, '@meridian/sdk')!,
      ]),
    );
    // Two broken copies in the same program (one type check is slow enough): only they fail.
    const base = sources['code-sample-getDevice']!;
    sources['code-sample-unknown-method'] = base.replace('meridian.devices.get(', 'meridian.devices.fetch(');
    sources['code-sample-wrong-argument'] = base.replace(/devices\.get\([^)]*\)/, 'devices.get(42)');
    expect(typeCheck(sources)).toEqual([
      expect.stringMatching(/^code-sample-unknown-method\.ts: Property 'fetch' does not exist/),
      expect.stringMatching(/^code-sample-wrong-argument\.ts: Argument of type 'number'/),
    ]);
  }, 120_000);

  describe('run against the real server', () => {
    const t = useTestServer();
    const run = promisify(execFile);
    const env = () => ({ ...process.env, MERIDIAN_URL: t.url, MERIDIAN_TOKEN: t.adminToken });

    it('the SDK sample and the curl sample of listSites list the sites', async () => {
      const site = await addSite(t);
      const operation = operationById('listSites');
      // The SDK sample as a module of the repository, where `@meridian/sdk` is the SDK's source.
      const sdk = await run(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '--eval', sample(operation, '@meridian/sdk')!],
        { cwd: repoPath('.'), env: env() },
      );
      expect(sdk.stdout).toContain(`id: '${site.id}'`);
      const curl = await run('sh', ['-c', sample(operation, 'curl')!], { env: env() });
      expect((JSON.parse(curl.stdout) as { data: { id: string }[] }).data.map((s) => s.id)).toContain(
        site.id,
      );
    }, 60_000);
  });

  it("every curl sample sends the operation's method to its path", () => {
    for (const operation of operations) {
      const curl = sample(operation, 'curl')!;
      const url = /"\$\{MERIDIAN_URL:-[^}]+\}([^"?]*)/.exec(curl)?.[1];
      expect(url, operation.operationId).toMatch(operation.pattern);
      expect(curl.includes(` -X ${operation.method} `), operation.operationId).toBe(
        operation.method !== 'GET',
      );
    }
  });
});

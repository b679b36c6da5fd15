/**
 * Proof that the server cannot drift from the spec silently: the router is type-checked against
 * the generated contract, so removing a handler, returning an undeclared status, or returning a
 * body of the wrong shape fails `tsc`. Each case edits a handler in memory and compiles.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const repo = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));
// The whole server from its entry point, so the type augmentations its middleware declares
// (request-id.ts, pino-http's) are in the program as they are in `npm run typecheck`.
const SERVER = repo('server-stub/src/index.ts');
const HANDLERS = repo('server-stub/src/fleet/devices-handlers.ts');
const original = readFileSync(HANDLERS, 'utf8');

const config = ts.getParsedCommandLineOfConfigFile(
  repo('tsconfig.json'),
  {},
  { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined },
)!;

let previous: ts.Program | undefined;

/** Type errors in the server when devices-handlers.ts reads as `edit(original)`. */
function compileWith(edit: (source: string) => string): string[] {
  const edited = edit(original);
  const host = ts.createCompilerHost(config.options);
  const readSource = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, language, ...rest) =>
    fileName === HANDLERS
      ? ts.createSourceFile(fileName, edited, language)
      : readSource(fileName, language, ...rest);
  // Reusing the previous program keeps every untouched file's parse and check: much faster.
  const program = ts.createProgram([SERVER], { ...config.options, noEmit: true }, host, previous);
  previous = program;
  return ts
    .getPreEmitDiagnostics(program)
    .map(
      (d) =>
        `${d.file?.fileName.replace(repo(''), '') ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
    );
}

const unchanged = (source: string) => source;

/** Replaces exactly one occurrence, failing loudly if the handler no longer looks as expected. */
function replaceOnce(source: string, from: string | RegExp, to: string): string {
  const matches = source.match(
    typeof from === 'string'
      ? new RegExp(from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g')
      : new RegExp(from, 'g'),
  );
  if (matches?.length !== 1)
    throw new Error(
      `expected exactly one match of ${String(from)} in devices-handlers.ts, found ${matches?.length ?? 0}`,
    );
  return source.replace(from, to);
}

// Each case is a full type-check of the server (10–20 s on a busy 2-core machine): a time limit here
// would only measure the machine.
describe('the server contract', { timeout: 180_000 }, () => {
  it('compiles as it stands', () => {
    expect(compileWith(unchanged)).toEqual([]);
  });

  it('fails to compile when a handler is missing', () => {
    const errors = compileWith((source) => replaceOnce(source, /\n {4}getDevice: [^\n]*\n/, '\n'));
    expect(errors.join('\n')).toMatch(/getDevice/);
  });

  it('fails to compile when a handler returns a status the spec does not declare for it', () => {
    const errors = compileWith((source) =>
      replaceOnce(
        source,
        'return { status: 200, body: await presentDevice(context, { ...device, credentials_revoked_at: now }) };',
        'return { status: 418, body: await presentDevice(context, { ...device, credentials_revoked_at: now }) };',
      ),
    );
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.join('\n')).toMatch(/devices-handlers\.ts|router\.ts/);
  });

  it('fails to compile when a handler returns a body of the wrong shape', () => {
    const errors = compileWith((source) =>
      replaceOnce(
        source,
        'return { status: 200, body: await presentDevice(context, { ...device, credentials_revoked_at: now }) };',
        "return { status: 200, body: { ...(await presentDevice(context, device)), status: 'rebooting' } };",
      ),
    );
    expect(errors.length).toBeGreaterThan(0);
  });
});

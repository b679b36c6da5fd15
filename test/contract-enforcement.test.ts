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
function replaceOnce(source: string, from: RegExp, to: string): string {
  const matches = source.match(new RegExp(from, 'g'));
  if (matches?.length !== 1)
    throw new Error(
      `expected exactly one match of ${String(from)} in devices-handlers.ts, found ${matches?.length ?? 0}`,
    );
  return source.replace(from, to);
}

/**
 * Replaces a part of registerDevice's `return { status, body }`, found through the syntax tree rather
 * than by its text, so the case keeps targeting code that exists when the handler is reworded.
 */
function editRegisterDeviceReturn(source: string, part: 'status' | 'body', to: (text: string) => string) {
  const file = ts.createSourceFile(HANDLERS, source, ts.ScriptTarget.Latest, true);
  const found: ts.Node[] = [];
  const visit = (node: ts.Node, inHandler: boolean): void => {
    const handler = ts.isPropertyAssignment(node) && node.name.getText(file) === 'registerDevice';
    if (
      (inHandler || handler) &&
      ts.isReturnStatement(node) &&
      node.expression &&
      ts.isObjectLiteralExpression(node.expression)
    )
      for (const property of node.expression.properties)
        if (ts.isPropertyAssignment(property) && property.name.getText(file) === part)
          found.push(property.initializer);
    ts.forEachChild(node, (child) => visit(child, inHandler || handler));
  };
  visit(file, false);
  if (found.length !== 1)
    throw new Error(`expected one return of registerDevice with a ${part}, found ${found.length}`);
  const [node] = found as [ts.Node];
  return source.slice(0, node.getStart(file)) + to(node.getText(file)) + source.slice(node.getEnd());
}

/** Errors `compileWith(edit)` reports in devices-handlers.ts or router.ts. */
const inHandlers = (errors: string[]) => errors.filter((e) => /devices-handlers\.ts|router\.ts/.test(e));

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
    const errors = compileWith((source) => editRegisterDeviceReturn(source, 'status', () => '418'));
    // registerDevice declares 201: the router's type check names the status it got instead.
    expect(inHandlers(errors).join('\n')).toMatch(/418/);
  });

  it('fails to compile when a handler returns a body of the wrong shape', () => {
    // The registration token, declared a string, returned as a number.
    const errors = compileWith((source) =>
      editRegisterDeviceReturn(source, 'body', (body) => `{ ...${body}, registration_token: 42 }`),
    );
    expect(inHandlers(errors).join('\n')).toMatch(/registration_token|number/);
  });
});

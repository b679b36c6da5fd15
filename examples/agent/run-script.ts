/**
 * The reference agent's `run_script` command: runs `sh` and `bash` scripts for real (other
 * languages are refused), only when the agent was started with `--allow-shell`. The body is
 * written to a private temporary file and run by the interpreter; each parameter reaches it as
 * `MERIDIAN_PARAM_<NAME>`. The script runs in its own process group, so that when its timeout
 * passes (or the command's, or the agent stops) the whole group is killed, children included.
 * The reference agent runs every script as its own user, whatever `run_as` says.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandHandler, CommandResult } from '@meridian/sdk';

const INTERPRETERS: Record<string, string> = { sh: '/bin/sh', bash: 'bash' };
const DEFAULT_TIMEOUT_SECONDS = 300;
/** Output kept while the script runs (the SDK sends at most the last 32 KiB of each stream). */
const KEEP = 64 * 1024;

interface RunScriptParams {
  language: string;
  body: string;
  parameters?: Record<string, string | number | boolean>;
  timeout_seconds?: number;
}

/** `MERIDIAN_PARAM_<NAME>` for each parameter, its value as text. */
const parameterEnvironment = (parameters: RunScriptParams['parameters'] = {}) =>
  Object.fromEntries(
    Object.entries(parameters).map(([name, value]) => [
      `MERIDIAN_PARAM_${name.toUpperCase()}`,
      String(value),
    ]),
  );

/** Runs `file` (with `args`) by `interpreter`, killing its process group after `timeoutMs` or on `signal`. */
export function runFile(
  interpreter: string,
  [file, ...args]: [string, ...string[]],
  env: Record<string, string>,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean; aborted: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(interpreter, [file, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const output = { stdout: '', stderr: '' };
    const keep = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      output[stream] = (output[stream] + chunk.toString()).slice(-KEEP);
    };
    child.stdout.on('data', keep('stdout'));
    child.stderr.on('data', keep('stderr'));
    let timedOut = false;
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    signal.addEventListener('abort', killGroup, { once: true });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', killGroup);
      resolve({ code, ...output, timedOut, aborted: signal.aborted });
    });
  });
}

export function runScript(config: { allowShell: boolean }): CommandHandler {
  return async (command, context): Promise<CommandResult> => {
    const params = command.params as unknown as RunScriptParams;
    if (!config.allowShell)
      return {
        status: 'failed',
        error:
          'This agent does not run scripts: start it with --allow-shell to let it run sh and bash scripts.',
      };
    const interpreter = INTERPRETERS[params.language];
    if (interpreter === undefined)
      return {
        status: 'failed',
        error: `The reference agent runs sh and bash scripts only, not ${params.language}.`,
      };
    const timeoutSeconds = params.timeout_seconds ?? DEFAULT_TIMEOUT_SECONDS;
    const directory = await mkdtemp(join(tmpdir(), 'meridian-script-'));
    try {
      const file = join(directory, `script.${params.language}`);
      await writeFile(file, params.body, { mode: 0o700 });
      const ran = await runFile(
        interpreter,
        [file],
        parameterEnvironment(params.parameters),
        timeoutSeconds * 1000,
        context.signal,
      );
      const output = { stdout: ran.stdout, stderr: ran.stderr };
      if (ran.timedOut)
        return {
          ...output,
          status: 'failed',
          error: `The script ran longer than its timeout of ${timeoutSeconds} s and was killed.`,
        };
      if (ran.aborted)
        return {
          ...output,
          status: 'failed',
          error: 'The script was killed: the command timed out or the agent stopped.',
        };
      return { ...output, exit_code: ran.code ?? 1 };
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  };
}

/**
 * What install_software and uninstall_software share: download an installer script into a
 * temporary directory (stage `downloading`), refuse it unless its SHA-256 matches, and run it with
 * `sh` and the command's arguments (stage `installing` or `uninstalling`). Resolves to the script's
 * output once it exits 0, or to the failed result saying why.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandContext, CommandResult } from '@meridian/sdk';
import { runFile } from './run-script';
import { type Authorize, download } from './uninstall-software';

export interface InstallerScript {
  url: string;
  sha256: string;
  arguments?: string[];
}

export async function runInstallerScript(
  script: InstallerScript,
  context: CommandContext,
  run: { stage: 'installing' | 'uninstalling'; what: string; timeoutMs: number; authorize: Authorize },
): Promise<{ failed: CommandResult } | { output: { stdout: string; stderr: string } }> {
  const role = run.stage === 'installing' ? 'installer' : 'uninstaller';
  const directory = await mkdtemp(join(tmpdir(), `meridian-${role}-`));
  try {
    const file = join(directory, 'installer.sh');
    await context.progress({ stage: 'downloading', percent: 0, message: 'downloading the installer' });
    const sha256 = await download(script.url, file, context.signal, run.authorize(script.url)).catch(
      (error: unknown) => {
        throw new Error(`The installer could not be downloaded: ${(error as Error).message}`);
      },
    );
    if (sha256 !== script.sha256)
      return {
        failed: {
          status: 'failed',
          error: `The installer's SHA-256 is ${sha256}, not ${script.sha256}: not run.`,
        },
      };
    await context.progress({ stage: run.stage, percent: 0, message: `${run.stage} ${run.what}` });
    const ran = await runFile(
      '/bin/sh',
      [file, ...(script.arguments ?? [])],
      {},
      run.timeoutMs,
      context.signal,
    );
    const output = { stdout: ran.stdout, stderr: ran.stderr };
    if (ran.timedOut || ran.aborted)
      return {
        failed: {
          ...output,
          status: 'failed',
          error: `The ${role} of ${run.what} was killed before it ended.`,
        },
      };
    if (ran.code !== 0)
      return {
        failed: {
          ...output,
          exit_code: ran.code ?? 1,
          status: 'failed',
          error: `The ${role} of ${run.what} exited with ${ran.code}.`,
        },
      };
    return { output };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

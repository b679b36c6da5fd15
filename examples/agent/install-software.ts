/**
 * The reference agent's `install_software` command. Installing changes the machine, so it is
 * refused unless the agent was started with `--allow-shell`. It downloads the installer (stage
 * `downloading`; with the agent's access token when it is on Meridian, see uninstall-software.ts), refuses it unless its SHA-256 matches, and runs it with `sh` and the command's
 * `arguments` (stage `installing`): the reference agent runs shell-script installers. When the
 * installer exits 0 it records the software as the command's detection rule names it and reports
 * its inventory again, so the device's inventory shows it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandHandler, CommandResult } from '@meridian/sdk';
import { runFile } from './run-script';
import type { SoftwareRegistry } from './software';
import { type Authorize, download } from './uninstall-software';

/** How long the installer may run (the command's own timeout ends it sooner). */
const INSTALL_TIMEOUT_MS = 60 * 60 * 1000;

interface InstallParams {
  name: string;
  version: string;
  url: string;
  sha256: string;
  arguments?: string[];
  detection?: { name: string; version?: string };
}

export function installSoftware(config: {
  allowShell: boolean;
  software: SoftwareRegistry;
  reportInventory: () => Promise<void>;
  authorize: Authorize;
}): CommandHandler {
  return async (command, context): Promise<CommandResult> => {
    const params = command.params as unknown as InstallParams;
    const what = `${params.name} ${params.version}`;
    if (!config.allowShell)
      return {
        status: 'failed',
        error: `This agent does not install software: start it with --allow-shell to let it install ${what}.`,
      };
    const directory = await mkdtemp(join(tmpdir(), 'meridian-install-'));
    try {
      const file = join(directory, 'installer.sh');
      await context.progress({ stage: 'downloading', percent: 0, message: `downloading ${params.url}` });
      const sha256 = await download(params.url, file, context.signal, config.authorize(params.url)).catch(
        (error: unknown) => {
          throw new Error(`The installer could not be downloaded: ${(error as Error).message}`);
        },
      );
      if (sha256 !== params.sha256)
        return {
          status: 'failed',
          error: `The installer's SHA-256 is ${sha256}, not ${params.sha256}: not run.`,
        };
      await context.progress({ stage: 'installing', percent: 0, message: `installing ${what}` });
      const ran = await runFile(
        '/bin/sh',
        [file, ...(params.arguments ?? [])],
        {},
        INSTALL_TIMEOUT_MS,
        context.signal,
      );
      const output = { stdout: ran.stdout, stderr: ran.stderr };
      if (ran.timedOut || ran.aborted)
        return { ...output, status: 'failed', error: `The installer of ${what} was killed before it ended.` };
      if (ran.code !== 0)
        return {
          ...output,
          exit_code: ran.code ?? 1,
          status: 'failed',
          error: `The installer of ${what} exited with ${ran.code}.`,
        };
      const installed = {
        name: params.detection?.name ?? params.name,
        version: params.detection?.version ?? params.version,
        installed_on: new Date().toISOString().slice(0, 10),
      };
      config.software.add(installed);
      await config.reportInventory();
      return { ...output, exit_code: 0, output: { installed } };
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  };
}

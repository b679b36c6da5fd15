/**
 * The reference agent's `install_software` command. Installing changes the machine, so it is
 * refused unless the agent was started with `--allow-shell`. It downloads the installer (stage
 * `downloading`; with the agent's access token when it is on Meridian, see uninstall-software.ts), refuses it unless its SHA-256 matches, and runs it with `sh` and the command's
 * `arguments` (stage `installing`): the reference agent runs shell-script installers. When the
 * installer exits 0 it records the software as the command's detection rule names it and reports
 * its inventory again, so the device's inventory shows it.
 */
import type { CommandHandler, CommandResult } from '@meridian/sdk';
import { type InstallerScript, runInstallerScript } from './installer-script';
import type { SoftwareRegistry } from './software';
import type { Authorize } from './uninstall-software';

/** How long the installer may run (the command's own timeout ends it sooner). */
const INSTALL_TIMEOUT_MS = 60 * 60 * 1000;

interface InstallParams extends InstallerScript {
  name: string;
  version: string;
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
    const ran = await runInstallerScript(params, context, {
      stage: 'installing',
      what,
      timeoutMs: INSTALL_TIMEOUT_MS,
      authorize: config.authorize,
    });
    if ('failed' in ran) return ran.failed;
    const installed = {
      name: params.detection?.name ?? params.name,
      version: params.detection?.version ?? params.version,
      installed_on: new Date().toISOString().slice(0, 10),
    };
    config.software.add(installed);
    await config.reportInventory();
    return { ...ran.output, exit_code: 0, output: { installed } };
  };
}

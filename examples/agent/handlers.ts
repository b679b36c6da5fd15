/**
 * The reference agent's command handlers. Harmless commands run for real (`ping`, `echo`,
 * `get_config`, `collect_inventory` from `os`, `list_processes` from `ps`); the ones that would
 * change the machine (reboot, restarting things, shell commands) are simulated and say so in their
 * output, unless `allowShell` lets `run_shell` run for real; `run_script` runs sh and bash scripts
 * only with `allowShell` (run-script.ts); terminating processes and service actions likewise
 * (live-state.ts), installing software with an installer script (install-software.ts) and
 * uninstalling it (uninstall-software.ts).
 */
import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';
import type { CommandHandler } from '@meridian/sdk';
import { installSoftware } from './install-software';
import { liveStateHandlers } from './live-state';
import { runScript } from './run-script';
import type { SoftwareRegistry } from './software';
import { type Authorize, uninstallSoftware } from './uninstall-software';

const run = promisify(execFile);

const simulated =
  (what: string): CommandHandler =>
  async () => ({ stdout: `simulated: ${what}\n`, output: { simulated: true } });

export function handlers(config: {
  allowShell: boolean;
  heartbeatSeconds?: number;
  software: SoftwareRegistry;
  reportInventory: () => Promise<void>;
  /** The headers an installer's download is sent with (the agent's token on its own server only). */
  authorize: Authorize;
}): Record<string, CommandHandler> {
  return {
    ping: async () => ({ stdout: 'pong\n' }),
    echo: async (command) => ({ stdout: `${String(command.params.text ?? '')}\n` }),
    get_config: async () => ({
      output: { allow_shell: config.allowShell, agent_pid: process.pid, node: process.version },
    }),
    collect_inventory: async (_command, context) => {
      await context.progress({ percent: 50, message: 'reading hardware' });
      return {
        output: {
          cpus: os.cpus().length,
          cpu_model: os.cpus()[0]?.model ?? 'unknown',
          memory_bytes: os.totalmem(),
          os: `${os.type()} ${os.release()}`,
          arch: os.arch(),
        },
      };
    },
    run_shell: async (command, context) => {
      const line = String(command.params.command ?? '');
      if (!config.allowShell)
        return simulated(`would run ${JSON.stringify(line)} (start the agent with --allow-shell to run it)`)(
          command,
          context,
        );
      try {
        const { stdout, stderr } = await run('/bin/sh', ['-c', line], {
          signal: context.signal,
          maxBuffer: 1024 * 1024,
        });
        return { exit_code: 0, stdout, stderr };
      } catch (error) {
        const failed = error as { code?: number; stdout?: string; stderr?: string };
        return {
          exit_code: typeof failed.code === 'number' ? failed.code : 1,
          stdout: failed.stdout ?? '',
          stderr: failed.stderr ?? String(error),
        };
      }
    },
    run_script: runScript(config),
    reboot: simulated('reboot'),
    restart_agent: simulated('restart the agent'),
    restart_process: async (command, context) =>
      simulated(`restart ${String(command.params.process_name)}`)(command, context),
    kill_process: async (command, context) =>
      simulated(`stop ${String(command.params.process_name)}`)(command, context),
    ...liveStateHandlers(config),
    take_screenshot: simulated('take a screenshot'),
    install_software: installSoftware(config),
    uninstall_software: uninstallSoftware(config),
  };
}

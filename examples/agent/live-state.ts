/**
 * The reference agent's live state commands. `list_processes` runs for real (it reads `ps`);
 * `terminate_process` and the service actions change the machine, so they are simulated unless
 * the agent runs with `--allow-shell` (then: SIGTERM, SIGKILL ten seconds later; `systemctl`).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { CommandHandler, LiveProcess } from '@meridian/sdk';

const run = promisify(execFile);

/** What the answer may hold of the list (the agent's result body is limited to 100 KB). */
const LIST_BUDGET_BYTES = 80_000;

/** `ps` lines of `pid ppid … rest`: the leading numeric columns and the rest of the line. */
async function ps(columns: string, numbers: number): Promise<{ values: string[]; rest: string }[]> {
  const { stdout } = await run('ps', ['-e', '-o', columns], { maxBuffer: 16 * 1024 * 1024 });
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length > numbers)
    .map((fields) => ({ values: fields.slice(0, numbers), rest: fields.slice(numbers).join(' ') }));
}

/** The running processes from `ps`, the largest (by memory) first, as many as fit the answer. */
export async function listProcesses(now = Date.now()): Promise<LiveProcess[]> {
  const commandLines = new Map(
    (await ps('pid=,args=', 1)).map(({ values, rest }) => [values[0], rest.slice(0, 500)]),
  );
  const listed = (await ps('pid=,ppid=,pcpu=,rss=,etimes=,user=,comm=', 6)).map(
    ({ values: [pid, ppid, cpu, rss, elapsed, user], rest }): LiveProcess => ({
      pid: Number(pid),
      parent_pid: Number(ppid),
      name: rest.slice(0, 260) || '?',
      ...(commandLines.get(pid) ? { command_line: commandLines.get(pid)! } : {}),
      user: user!.slice(0, 256),
      cpu_percent: Number(cpu),
      memory_bytes: Number(rss) * 1024,
      started_at: new Date(now - Number(elapsed) * 1000).toISOString(),
    }),
  );
  listed.sort((a, b) => (b.memory_bytes ?? 0) - (a.memory_bytes ?? 0));
  const kept: LiveProcess[] = [];
  let used = 0;
  for (const process of listed) {
    used += JSON.stringify(process).length;
    if (used > LIST_BUDGET_BYTES) break;
    kept.push(process);
  }
  return kept;
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Asks the process to end, and kills it if it still runs `graceMs` later. */
async function terminate(pid: number, graceMs: number, signal: AbortSignal): Promise<string> {
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline && !signal.aborted)
    await new Promise((resolve) => setTimeout(resolve, 100));
  if (!isAlive(pid)) return `Process ${pid} ended.\n`;
  process.kill(pid, 'SIGKILL');
  return `Process ${pid} did not end in ${graceMs / 1000} s; killed it.\n`;
}

export function liveStateHandlers(config: { allowShell: boolean }): Record<string, CommandHandler> {
  const guarded =
    (what: (params: Record<string, unknown>) => string, act: CommandHandler): CommandHandler =>
    async (command, context) =>
      config.allowShell
        ? act(command, context)
        : {
            stdout: `simulated: would ${what(command.params)} (start the agent with --allow-shell to do it)\n`,
            output: { simulated: true },
          };
  const service = (action: 'start' | 'stop' | 'restart') =>
    guarded(
      (params) => `${action} the service ${String(params.service_name)}`,
      async (command, context) => {
        try {
          const { stdout, stderr } = await run('systemctl', [action, String(command.params.service_name)], {
            signal: context.signal,
          });
          return { exit_code: 0, stdout, stderr };
        } catch (error) {
          const failed = error as { code?: number; stderr?: string };
          return {
            exit_code: typeof failed.code === 'number' ? failed.code : 1,
            stderr: failed.stderr ?? String(error),
          };
        }
      },
    );
  return {
    list_processes: async () => ({ output: { processes: await listProcesses() } }),
    terminate_process: guarded(
      (params) => `terminate process ${String(params.pid)}`,
      async (command, context) => {
        const pid = Number(command.params.pid);
        if (!isAlive(pid)) return { status: 'failed', error: `No process has PID ${pid}.` };
        return { stdout: await terminate(pid, 10_000, context.signal) };
      },
    ),
    start_service: service('start'),
    stop_service: service('stop'),
    restart_service: service('restart'),
  };
}

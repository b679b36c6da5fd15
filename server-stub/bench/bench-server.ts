/**
 * What the benches start as processes of their own: the server exactly as deployed, and the bench's
 * helpers (load generators, baselines), each run with tsx.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Meridian } from '@meridian/sdk';

/** CPU milliseconds a process has used so far (Linux), or NaN elsewhere. */
export function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

export interface BenchProcess {
  pid: number;
  /** Resolves with the first match of `pattern` in what the process printed, or rejects if it exits first. */
  printed(pattern: RegExp): Promise<RegExpExecArray>;
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number | null>;
  /** Stops the process (SIGTERM) and waits for it to end. */
  stop(): Promise<void>;
}

/** The processes spawnTsx started that are still running: stopped when this process exits, however. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGTERM');
});

/**
 * Runs a TypeScript file of this folder (or of the server) with tsx in a process of its own, with
 * `env` added to this process's environment; stderr goes to this process's, stdout to `stdoutFile`
 * if given, else through a pipe to this process.
 */
export function spawnTsx(
  script: URL,
  args: string[] = [],
  env: Record<string, string> = {},
  nodeOptions: string[] = [],
  stdoutFile?: string,
): BenchProcess {
  // A server's log goes to a file, as deployed: through a pipe, its writes would wait for this
  // process's event loop (busy being a receiver or a load generator) to read them.
  const file = stdoutFile === undefined ? undefined : openSync(stdoutFile, 'w');
  const child: ChildProcess = spawn(
    process.execPath,
    [...nodeOptions, '--import', 'tsx', fileURLToPath(script), ...args],
    { env: { ...process.env, ...env }, stdio: ['ignore', file ?? 'pipe', 'inherit'] },
  );
  if (file !== undefined) closeSync(file);
  running.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const read = () => (stdoutFile === undefined ? output : readFileSync(stdoutFile, 'utf8'));
  return {
    pid: child.pid!,
    printed: (pattern) =>
      new Promise((resolve, reject) => {
        const poll = setInterval(() => {
          const match = pattern.exec(read());
          if (!match) return;
          clearInterval(poll);
          resolve(match);
        }, 20);
        void exited.then(() => {
          clearInterval(poll);
          const match = pattern.exec(read());
          if (match) resolve(match);
          else reject(new Error(`${fileURLToPath(script)} exited without printing ${pattern}:\n${read()}`));
        });
      }),
    exited,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface SpawnedBenchServer {
  url: string;
  pid: number;
  operator: Meridian;
  siteId: string;
  close(): Promise<void>;
}

/**
 * The server exactly as deployed, in a process of its own: `npm start`'s entry point with
 * NODE_ENV=production, a SQLite file in a fresh temporary directory, default settings but for
 * `env` (MERIDIAN_* variables). Signs the admin in and creates a site. With BENCH_SERVER_PROFILE=<dir>
 * in the environment, the server writes a CPU profile there when it stops.
 */
export async function spawnBenchServer(env: Record<string, string> = {}): Promise<SpawnedBenchServer> {
  const directory = mkdtempSync(join(tmpdir(), 'meridian-bench-'));
  const server = spawnTsx(
    new URL('../src/main.ts', import.meta.url),
    [],
    {
      NODE_ENV: 'production',
      PORT: '0',
      MERIDIAN_DB: join(directory, 'meridian.sqlite'),
      MERIDIAN_ADMIN_USERNAME: 'bench',
      MERIDIAN_ADMIN_PASSWORD: 'bench-password-123',
      ...env,
    },
    process.env.BENCH_SERVER_PROFILE
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SERVER_PROFILE}`]
      : [],
    join(directory, 'meridian.log'),
  );
  const close = async () => {
    await server.stop();
    rmSync(directory, { recursive: true, force: true });
  };
  try {
    const [, port] = await server.printed(/API\s+http:\/\/[^:]+:(\d+)\/v1/);
    const url = `http://127.0.0.1:${port}`;
    const { token } = await new Meridian({ baseUrl: url }).auth.login({
      username: 'bench',
      password: 'bench-password-123',
    });
    const operator = new Meridian({ baseUrl: url, token });
    const site = await operator.sites.create({ name: 'Bench' });
    return { url, pid: server.pid, operator, siteId: site.id, close };
  } catch (error) {
    // Never leave the server running when the bench cannot use it.
    await close();
    throw error;
  }
}

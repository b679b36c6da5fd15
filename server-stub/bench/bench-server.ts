/**
 * The server the benches measure, started as it is deployed (no response validation, the rate
 * limit out of the way of the load), with an admin signed in and a site to work on.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Meridian } from '@meridian/sdk';
import { type RunningServer, type ServerOptions, startServer } from '../src/index';

export interface BenchServer {
  meridian: RunningServer;
  operator: Meridian;
  siteId: string;
}

export async function startBenchServer(options: Partial<ServerOptions> = {}): Promise<BenchServer> {
  const meridian = await startServer({
    database: ':memory:',
    port: 0,
    host: '127.0.0.1',
    adminUsername: 'bench',
    adminPassword: 'bench-password-123',
    passwordCost: 2 ** 10,
    validateResponses: false,
    requestsPerMinute: 10_000_000,
    ...options,
  });
  const { token } = await new Meridian({ baseUrl: meridian.url }).auth.login({
    username: 'bench',
    password: 'bench-password-123',
  });
  const operator = new Meridian({ baseUrl: meridian.url, token });
  const site = await operator.sites.create({ name: 'Bench' });
  return { meridian, operator, siteId: site.id };
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
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_SERVER_PROFILE
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SERVER_PROFILE}`]
        : []),
      '--import',
      'tsx',
      fileURLToPath(new URL('../src/main.ts', import.meta.url)),
    ],
    {
      env: {
        ...process.env,
        NODE_ENV: 'production',
        PORT: '0',
        MERIDIAN_DB: join(directory, 'meridian.sqlite'),
        MERIDIAN_ADMIN_USERNAME: 'bench',
        MERIDIAN_ADMIN_PASSWORD: 'bench-password-123',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    child.kill('SIGTERM');
    await exited;
    rmSync(directory, { recursive: true, force: true });
  };
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const api = /API\s+http:\/\/[^:]+:(\d+)\/v1/.exec(output);
      if (api) resolve(`http://127.0.0.1:${api[1]}`);
    });
    void exited.then(() => reject(new Error(`the server exited before it was ready:\n${output}`)));
  }).catch(async (error: unknown) => {
    await close();
    throw error;
  });
  const { token } = await new Meridian({ baseUrl: url }).auth.login({
    username: 'bench',
    password: 'bench-password-123',
  });
  const operator = new Meridian({ baseUrl: url, token });
  const site = await operator.sites.create({ name: 'Bench' });
  return {
    url,
    pid: child.pid!,
    operator,
    siteId: site.id,
    close,
  };
}

/**
 * A throwaway PostgreSQL cluster for tests: initdb in a temporary directory, started on a free
 * port, removed afterwards. Uses the PostgreSQL binaries of `MERIDIAN_TEST_POSTGRES_BIN`
 * (test/support/programs.ts); as root it runs
 * them as the `postgres` user, since PostgreSQL refuses to run as root.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { postgresBin } from './programs';
import type { ServerOptions } from '@meridian/server';
import type { TestServer } from './server';
import { useTestServer } from './use-test-server';
import { unique } from './world';

export interface Postgres {
  url: string;
  stop(): void;
}

/** A TCP port nobody listens on now (for a program that takes its port as a setting). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startPostgres(): Promise<Postgres> {
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'meridian-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const run = (tool: string, args: string[]) =>
    asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args], { stdio: 'pipe' })
      : execFileSync(join(bin, tool), args, { stdio: 'pipe' });
  const data = join(dir, 'data');
  const port = await freePort();
  run('initdb', ['-D', data, '-U', 'meridian', '--auth=trust', '--encoding=UTF8', '--no-sync']);
  run('pg_ctl', [
    '-D',
    data,
    '-l',
    join(dir, 'log'),
    '-w',
    '-o',
    `-p ${port} -h 127.0.0.1 -k ${dir} -F`,
    'start',
  ]);
  return {
    url: `postgres://meridian@127.0.0.1:${port}/postgres`,
    stop: () => {
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * For a test file: a throwaway cluster and the server on it (useTestServer), started before its
 * tests and stopped after them; the cluster stops after the server closed (afterAll hooks run
 * in reverse order).
 */
/** A throwaway cluster for the file (or describe), and the server options that use it. */
function usePostgresDatabase(): () => { database: string } {
  let pg: Postgres | undefined;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(() => pg?.stop());
  return () => ({ database: pg!.url });
}

export function usePostgresServer(): TestServer {
  return useTestServer(usePostgresDatabase());
}

/**
 * Two server instances sharing one throwaway PostgreSQL database, as several replicas would, both
 * started with `options`.
 */
export function usePostgresInstances(options: Partial<ServerOptions> = {}): [TestServer, TestServer] {
  const database = usePostgresDatabase();
  const start = () => ({ ...options, ...database() });
  return [useTestServer(start), useTestServer(start)];
}

/**
 * Resolves once `to` has heard every signal `from` sent so far (runtime/shared-signals.ts: they
 * go out in order, and PostgreSQL delivers them in order): what `from` told the other instances
 * to forget is forgotten there. The credential cache's few seconds have not passed on either clock.
 */
export async function heardBy(from: TestServer, to: TestServer): Promise<void> {
  const topic = unique('barrier');
  const heard = new Promise<void>((resolve) => {
    const stop = to.server.context.signals.subscribe(topic, () => {
      stop();
      resolve();
    });
  });
  from.server.context.signals.notify(topic);
  await heard;
}

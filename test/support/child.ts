/**
 * The test's side of support/child-server.ts: a Meridian server in a process of its own, for
 * tests that kill it or stop it with a signal.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createMeridianClient, login, type Client } from '@meridian/sdk';
import { checkedFetch } from './checked-fetch';
import { ADMIN, ok } from './server';

const CHILD = fileURLToPath(new URL('./child-server.ts', import.meta.url));

export interface Child {
  process: ChildProcess;
  url: string;
}

/** Starts a server with these ServerOptions; resolves once it listens. */
export function startChild(options: object): Promise<Child> {
  // node itself (with tsx as a loader), not the tsx wrapper: signals must reach the server's process.
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const ready = /READY (\S+)/.exec(output);
      if (ready) resolve({ process: child, url: ready[1]! });
    });
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before it was ready`)));
  });
}

/** An SDK client for `url` (checked against the spec), with this token or none. */
export const clientOf = (url: string, token?: string): Client =>
  createMeridianClient({ baseUrl: url, fetch: checkedFetch, ...(token ? { token } : {}) });

/** Signs the tests' admin in and returns a client with the session token. */
export async function signIn(url: string): Promise<Client> {
  const { token } = ok(await login({ client: clientOf(url), body: ADMIN }));
  return clientOf(url, token);
}

/**
 * Starts the real server in-process (in-memory SQLite, free port) and hands out SDK clients
 * whose every response is validated against the spec (checked-fetch.ts).
 */
import { startServer, type RunningServer, type ServerOptions } from '@meridian/server';
import { createMeridianClient, login, type Client } from '@meridian/sdk';
import { checkedFetch } from './checked-fetch';

export const ADMIN = { username: 'root', password: 'root-password-for-tests' } as const;

/** A clock tests can move forward, to expire tokens and sessions without waiting. */
export class TestClock {
  private offsetMs = 0;
  now = (): Date => new Date(Date.now() + this.offsetMs);
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface TestServer {
  url: string;
  server: RunningServer;
  clock: TestClock;
  /** An SDK client for a bearer token (or none), checked against the spec. */
  client(token?: string, headers?: Record<string, string>): Client;
  /** Signs in through the SDK and returns the session token. */
  signIn(username: string, password: string): Promise<string>;
  adminToken: string;
  admin: Client;
  close(): Promise<void>;
}

export async function startTestServer(options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const clock = new TestClock();
  const server = await startServer({
    database: ':memory:',
    port: 0,
    host: '127.0.0.1',
    adminUsername: ADMIN.username,
    adminPassword: ADMIN.password,
    // scrypt at N=2^10 keeps hundreds of sign-ins fast; production uses 2^15 (same code path).
    passwordCost: 2 ** 10,
    requestsPerMinute: 100_000,
    loginFailuresPerMinute: 1000,
    validateResponses: true,
    now: clock.now,
    ...options,
  });
  const client = (token?: string, headers?: Record<string, string>): Client =>
    createMeridianClient({ baseUrl: server.url, fetch: checkedFetch, ...(token ? { token } : {}), ...(headers ? { headers } : {}) });
  const signIn = async (username: string, password: string): Promise<string> => {
    const { data, error } = await login({ client: client(), body: { username, password } });
    if (!data) throw new Error(`sign-in of ${username} failed: ${JSON.stringify(error)}`);
    return data.token;
  };
  const adminToken = await signIn(ADMIN.username, ADMIN.password);
  return { url: server.url, server, clock, client, signIn, adminToken, admin: client(adminToken), close: () => server.close() };
}

/** Unwraps an SDK result that must have succeeded, with the error in the message if not. */
export function ok<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data === undefined || result.error !== undefined) {
    throw new Error(`expected success, got ${result.response.status}: ${JSON.stringify(result.error)}`);
  }
  return result.data;
}

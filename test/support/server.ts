/**
 * Starts the real server in-process (in-memory SQLite, free port) and hands out SDK clients
 * whose every response is validated against the spec (checked-fetch.ts).
 */
import { startServer, type RunningServer, type ServerOptions, type Timers } from '@meridian/server';
import { createMeridianClient, login, type Client } from '@meridian/sdk';
import { checkedFetch } from './checked-fetch';

export const ADMIN = { username: 'root', password: 'root-password-for-tests' } as const;

interface PendingTimer {
  due: number;
  label: string;
  callback: () => unknown;
}

/**
 * A clock tests can move forward, to expire tokens and sessions without waiting. The server's
 * timers (long-poll deadlines, waits, sweeps) run on it too: they fire only when a test
 * advances the clock past them, never on their own.
 */
export class TestClock {
  private offsetMs = 0;
  private readonly pending = new Set<PendingTimer>();
  private readonly watchers = new Set<{ label: string; resolve: () => void }>();

  now = (): Date => new Date(Date.now() + this.offsetMs);

  readonly timers: Timers = {
    set: (ms, callback, label) => {
      const timer: PendingTimer = { due: this.now().getTime() + ms, label, callback };
      this.pending.add(timer);
      for (const watcher of [...this.watchers]) {
        if (watcher.label === label) {
          this.watchers.delete(watcher);
          watcher.resolve();
        }
      }
      return () => void this.pending.delete(timer);
    },
  };

  /** Moves the clock forward, then runs every timer that fell due (earliest first), awaiting each. */
  async advance(ms: number): Promise<void> {
    this.offsetMs += ms;
    for (;;) {
      const now = this.now().getTime();
      const next = [...this.pending].filter((timer) => timer.due <= now).sort((a, b) => a.due - b.due)[0];
      if (!next) return;
      this.pending.delete(next);
      await next.callback();
    }
  }

  /** Resolves once the server is waiting on a timer with this label (a long-poll began, …). */
  waitingOn(label: string): Promise<void> {
    if ([...this.pending].some((timer) => timer.label === label)) return Promise.resolve();
    return new Promise((resolve) => this.watchers.add({ label, resolve }));
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
  /**
   * Moves the clock forward (running the server's timers that fall due) and signs the admin in
   * again, since sessions end after 12 hours: `adminToken` and `admin` are replaced.
   */
  travel(ms: number): Promise<void>;
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
    // scrypt at N=2^10 keeps hundreds of sign-ins fast; production uses 2^17 (same code path).
    passwordCost: 2 ** 10,
    requestsPerMinute: 100_000,
    loginFailuresPerMinute: 1000,
    // Tests move the clock by hours while holding the world's sessions, and fail sign-ins on
    // purpose: idle timeout and lockout stay out of their way (test/sessions.test.ts and
    // test/lockout.test.ts set their own).
    sessions: { idleMinutes: 12 * 60 },
    lockout: { threshold: 1000 },
    // Uploads past 2 MiB are refused, as images are (test/bad-input.test.ts sends 2.5 MiB to every
    // operation with a body); test/large-artifacts.test.ts raises it for its 200 MB build.
    artifactMaxBytes: 2 * 1024 * 1024,
    // Required on PostgreSQL; the same for every test server, as for every instance of one deployment.
    auditKey: 'meridian-test-audit-key-0123456789abcdef',
    validateResponses: true,
    now: clock.now,
    timers: clock.timers,
    // Quiet unless a test asks for the logs (test/logging.test.ts gives a level and a destination).
    logLevel: 'silent',
    ...options,
    webhooks: {
      // Tests' webhook receivers listen on 127.0.0.1; test/webhooks.test.ts proves the refusal without this.
      allowPrivateTargets: true,
      // Required on PostgreSQL; the same for every test server, as for every instance of one deployment.
      secretsKey: 'meridian-test-secrets-key-0123456789abcdef',
      ...options.webhooks,
    },
  });
  const client = (token?: string, headers?: Record<string, string>): Client =>
    createMeridianClient({
      baseUrl: server.url,
      fetch: checkedFetch,
      ...(token ? { token } : {}),
      ...(headers ? { headers } : {}),
    });
  const signIn = async (username: string, password: string): Promise<string> => {
    const { data, error } = await login({ client: client(), body: { username, password } });
    if (!data) throw new Error(`sign-in of ${username} failed: ${JSON.stringify(error)}`);
    return data.token;
  };
  const adminToken = await signIn(ADMIN.username, ADMIN.password);
  const t: TestServer = {
    url: server.url,
    server,
    clock,
    client,
    signIn,
    adminToken,
    admin: client(adminToken),
    travel: async (ms) => {
      await clock.advance(ms);
      t.adminToken = await signIn(ADMIN.username, ADMIN.password);
      t.admin = client(t.adminToken);
    },
    close: () => server.close(),
  };
  return t;
}

/** Unwraps an SDK result that must have succeeded, with the error in the message if not. */
export function ok<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data === undefined || result.error !== undefined) {
    throw new Error(`expected success, got ${result.response.status}: ${JSON.stringify(result.error)}`);
  }
  return result.data;
}

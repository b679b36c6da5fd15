/** @meridian/server: start the reference implementation, in-process or from the command line. */
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { ensureBootstrapAdmin, type BootstrapAdmin } from './bootstrap';
import type { AppContext } from './context';
import { createApp } from './http/app';
import { migrateToLatest, openDatabase } from './store/database';

export interface ServerOptions {
  /** SQLite file path, `:memory:`, or a `postgres://` URL. */
  database: string;
  port?: number;
  host?: string;
  adminUsername?: string;
  adminPassword?: string;
  /** scrypt N; 2^15 by default. Tests lower it to keep thousands of sign-ins fast. */
  passwordCost?: number;
  requestsPerMinute?: number;
  loginFailuresPerMinute?: number;
  validateResponses?: boolean;
  now?: () => Date;
}

export interface RunningServer {
  url: string;
  bootstrap: BootstrapAdmin | null;
  context: AppContext;
  close(): Promise<void>;
}

export const VERSION = '0.1.0';

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { db, engine } = openDatabase(options.database);
  await migrateToLatest(db);
  const context: AppContext = {
    db,
    engine,
    version: VERSION,
    passwordCost: options.passwordCost ?? 2 ** 15,
    sessionTtlSeconds: 12 * 60 * 60,
    rateLimit: { requestsPerMinute: options.requestsPerMinute ?? 1200, loginFailuresPerMinute: options.loginFailuresPerMinute ?? 5 },
    validateResponses: options.validateResponses ?? process.env.NODE_ENV !== 'production',
    now: options.now ?? (() => new Date()),
  };
  const bootstrap = await ensureBootstrapAdmin(context, options.adminUsername, options.adminPassword);
  const server: Server = createServer(createApp(context));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '0.0.0.0', resolve);
  });
  const { port } = server.address() as AddressInfo;
  const host = !options.host || options.host === '0.0.0.0' ? 'localhost' : options.host;
  return {
    url: `http://${host}:${port}`,
    bootstrap,
    context,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await db.destroy();
    },
  };
}

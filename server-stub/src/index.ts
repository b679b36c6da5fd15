/** @meridian/server: start the reference implementation, in-process or from the command line. */
import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import { createServer, type Server } from 'node:http';
import { DEFAULT_PASSWORD_COST } from './auth/passwords';
import { ensureBootstrapAdmin, type BootstrapAdmin } from './bootstrap';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  DEFAULT_FLEET_SETTINGS,
  DEFAULT_LOCKOUT_SETTINGS,
  DEFAULT_SESSION_SETTINGS,
  type AppContext,
  type FleetSettings,
  type LockoutSettings,
  type SessionSettings,
  type WebAuthnSettings,
  type WebhookSettings,
} from './context';
import { flushMetricSamples } from './fleet/metric-samples';
import { runSweeps, startSweeps, type SweepReport } from './fleet/sweeps';
import { startWebhookWorker } from './integrate/webhook-deliveries';
import { FileBlobStore } from './lifecycle/blob-store';
import { resolveHost } from './integrate/webhook-targets';
import { startNotificationWorker } from './integrate/notifications';
import { countCommandsByStatus } from './operations/commands-store';
import { startJobWorker } from './operations/jobs-store';
import { startRolloutWorker } from './lifecycle/rollouts-store';
import { startScheduleWorker } from './operations/schedules-store';
import { shareSignals } from './runtime/shared-signals';
import { Drain } from './runtime/shutdown';
import { Signals } from './runtime/signals';
import { realTimers, type Timers } from './runtime/timers';
import { createApp } from './http/app';
import { rateLimitCounters } from './http/rate-limit';
import { createLogger } from './http/logging';
import { listenForMetrics, ServerMetrics } from './http/metrics';
import type { LogLevel } from './config';
import { resolveAuditKey } from './integrate/audit-key';
import { migrateToLatest, openDatabase } from './store/database';

export interface ServerOptions {
  /** SQLite file path, `:memory:`, or a `postgres://` URL. */
  database: string;
  port?: number;
  host?: string;
  adminUsername?: string;
  adminPassword?: string;
  /** scrypt N; 2^17 (OWASP's minimum) by default. Tests lower it to keep thousands of sign-ins fast. */
  passwordCost?: number;
  requestsPerMinute?: number;
  loginFailuresPerMinute?: number;
  /** Idle timeout, absolute lifetime, `remember_me` lifetime of sessions (see SessionSettings). */
  sessions?: Partial<SessionSettings>;
  /** How many failed sign-ins within how long lock an account, and for how long (LockoutSettings). */
  lockout?: Partial<LockoutSettings>;
  /**
   * Express's `trust proxy` (true, a hop count, or addresses and subnets such as
   * "loopback, 10.0.0.0/8"): whose X-Forwarded-For gives the client's address. Default "loopback".
   */
  trustProxy?: boolean | number | string;
  /** Origins (`https://console.example.com`) whose pages may call the API with a bearer token. None by default. */
  corsOrigins?: readonly string[];
  validateResponses?: boolean;
  /**
   * Signs the audit chain (MERIDIAN_AUDIT_KEY, at least 32 characters). Required on PostgreSQL;
   * on SQLite a key file beside the database is created and used by default.
   */
  auditKey?: string;
  /** Heartbeat interval, offline threshold, token lifetimes… (see FleetSettings). */
  fleet?: Partial<FleetSettings>;
  /**
   * Webhooks: whether loopback and private targets are allowed (not by default), the key that
   * encrypts their secrets and every other sealed secret (required with PostgreSQL; otherwise a random
   * one per process by default, fine for throwaway servers), and
   * how long endpoints have to answer (10 s).
   */
  webhooks?: Partial<WebhookSettings>;
  /** Passkeys: the relying party ID and the allowed origins (see WebAuthnSettings). */
  webauthn?: Partial<WebAuthnSettings>;
  now?: () => Date;
  /** Where the server's delays are scheduled; tests pass timers driven by their clock. */
  timers?: Timers;
  /** The level of the server's logs (MERIDIAN_LOG_LEVEL); `info` by default, tests pass `silent`. */
  logLevel?: LogLevel;
  /** A second port serving the metrics without a token (MERIDIAN_METRICS_PORT); none by default. */
  metricsPort?: number;
  /** Where log lines go: standard output by default, pretty-printed outside production. */
  logDestination?: DestinationStream;
  /**
   * How long a shutdown lets in-flight requests finish before cutting their connections
   * (MERIDIAN_SHUTDOWN_GRACE_SECONDS); 10 s by default.
   */
  shutdownGraceSeconds?: number;
  /**
   * Where uploaded files are kept (MERIDIAN_BLOB_DIR): `blobs` beside the SQLite file by default;
   * for `:memory:` a temporary directory removed when the server closes; `./data/blobs` with
   * PostgreSQL (several instances need one shared directory).
   */
  blobDir?: string;
  /** Uploads larger than this are refused (MERIDIAN_ARTIFACT_MAX_BYTES); 1 GiB by default. */
  artifactMaxBytes?: number;
  /** The URL agents reach the server at (MERIDIAN_PUBLIC_URL), for install scripts; else the request's. */
  publicUrl?: string;
}

export const DEFAULT_ARTIFACT_MAX_BYTES = 1024 ** 3;

/** The blob directory of `options` (see ServerOptions.blobDir); `temporary` when made for this process. */
async function blobDirectory(options: ServerOptions): Promise<{ path: string; temporary: boolean }> {
  if (options.blobDir !== undefined) return { path: options.blobDir, temporary: false };
  if (options.database === ':memory:')
    return { path: await mkdtemp(join(tmpdir(), 'meridian-blobs-')), temporary: true };
  if (/^postgres(ql)?:\/\//.test(options.database)) return { path: './data/blobs', temporary: false };
  return { path: join(dirname(options.database), 'blobs'), temporary: false };
}

export interface RunningServer {
  url: string;
  bootstrap: BootstrapAdmin | null;
  context: AppContext;
  /** Where the audit key came from (the setting, a key file, generated). */
  auditKeySource: string;
  /** Runs the background sweeps now (they also run every `sweepIntervalSeconds`). */
  sweep(): Promise<SweepReport>;
  /** Delivers the webhooks that are due now (the worker also does, on new events and every second). */
  deliverWebhooks(): Promise<void>;
  /** Sends the notifications due now (what the notification worker does on its own). */
  sendNotifications(): Promise<void>;
  /** Starts the schedules' runs due now (what the schedule ticker does every second). */
  runSchedules(): Promise<void>;
  /** Records the end of the jobs none of whose commands is live (what a command change wakes). */
  settleJobs(): Promise<void>;
  /** Advances the running rollouts now (device timeouts, batch intervals), as the rollout worker's tick does. */
  advanceRollouts(): Promise<void>;
  /**
   * Shuts down gracefully (runtime/shutdown.ts): stops accepting connections, lets in-flight
   * requests finish within `shutdownGraceSeconds`, then stops the background work and closes
   * the database.
   */
  shutdown(): Promise<void>;
  /** The metrics port's `/metrics` URL, when `metricsPort` is set. */
  metricsUrl: string | null;
  close(): Promise<void>;
}

export type {
  FleetSettings,
  LockoutSettings,
  SessionSettings,
  WebAuthnSettings,
  WebhookSettings,
} from './context';
export type { Timers } from './runtime/timers';
export { shutDownOnSignals } from './runtime/shutdown';

export const VERSION = '0.1.0';

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { db, engine, pool } = openDatabase(options.database);
  // Instances open what the others sealed (webhook and TOTP secrets, identity providers' secrets,
  // OIDC sign-in cookies): one key for all of them, never one made up by each process.
  if (engine === 'postgres' && options.webhooks?.secretsKey === undefined)
    throw new Error(
      'MERIDIAN_WEBHOOK_SECRETS_KEY is required with PostgreSQL: every instance opens the secrets the others sealed with it',
    );
  const timers = options.timers ?? realTimers;
  await migrateToLatest(db);
  const auditKey = resolveAuditKey(options.auditKey, options.database, engine);
  const drain = new Drain();
  const blobDir = await blobDirectory(options);
  const context: AppContext = {
    db,
    engine,
    version: VERSION,
    passwordCost: options.passwordCost ?? DEFAULT_PASSWORD_COST,
    sessions: { ...DEFAULT_SESSION_SETTINGS, ...options.sessions },
    lockout: { ...DEFAULT_LOCKOUT_SETTINGS, ...options.lockout },
    rateLimit: {
      requestsPerMinute: options.requestsPerMinute ?? 1200,
      loginFailuresPerMinute: options.loginFailuresPerMinute ?? 5,
      counters: rateLimitCounters(pool, timers),
    },
    trustProxy: options.trustProxy ?? 'loopback',
    corsOrigins: options.corsOrigins ?? [],
    validateResponses: options.validateResponses ?? process.env.NODE_ENV !== 'production',
    fleet: { ...DEFAULT_FLEET_SETTINGS, ...options.fleet },
    webhooks: {
      allowPrivateTargets: false,
      secretsKey: randomBytes(32).toString('base64'),
      attemptTimeoutSeconds: 10,
      resolve: resolveHost,
      ...options.webhooks,
    },
    webauthn: { rpId: options.webauthn?.rpId ?? 'localhost', origins: options.webauthn?.origins },
    auditKey: auditKey.key,
    now: options.now ?? (() => new Date()),
    timers,
    signals: new Signals(),
    draining: drain.signal,
    log: createLogger({ level: options.logLevel ?? 'info', destination: options.logDestination }),
    metrics: new ServerMetrics(() => countCommandsByStatus(db)),
    blobs: new FileBlobStore(blobDir.path),
    artifacts: { maxBytes: options.artifactMaxBytes ?? DEFAULT_ARTIFACT_MAX_BYTES },
    publicUrl: options.publicUrl,
  };
  // A connection PostgreSQL closed while idle (a restart, a failover) leaves the pool, and the next
  // query opens another; unheard, its error would end the process.
  pool?.on('error', (error) => context.log.warn({ err: error }, 'database connection lost'));
  // One lost while checked out (mid-query, mid-transaction) rejects the query running on it, which
  // reaches its caller; the client then emits the same error, which, unheard, would end the process.
  pool?.on('connect', (client) => client.on('error', () => undefined));
  // Several instances on one PostgreSQL database wake each other's waiters.
  const sharedSignals = engine === 'postgres' ? await shareSignals(context, options.database) : undefined;
  const bootstrap = await ensureBootstrapAdmin(context, options.adminUsername, options.adminPassword);
  const server: Server = createServer(createApp(context));
  drain.watch(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '0.0.0.0', resolve);
  });
  const stopSweeps = startSweeps(context);
  const webhookWorker = startWebhookWorker(context);
  const notificationWorker = startNotificationWorker(context);
  const jobWorker = startJobWorker(context);
  const rolloutWorker = startRolloutWorker(context);
  const scheduleWorker = startScheduleWorker(context);
  const { port } = server.address() as AddressInfo;
  const host = !options.host || options.host === '0.0.0.0' ? 'localhost' : options.host;
  const metricsServer =
    options.metricsPort === undefined
      ? null
      : await listenForMetrics(context.metrics, options.metricsPort, options.host ?? '0.0.0.0');
  const running: RunningServer = {
    url: `http://${host}:${port}`,
    bootstrap,
    context,
    auditKeySource: auditKey.source,
    sweep: () => runSweeps(context),
    deliverWebhooks: webhookWorker.run,
    sendNotifications: notificationWorker.run,
    runSchedules: scheduleWorker.run,
    settleJobs: jobWorker.run,
    advanceRollouts: rolloutWorker.run,
    metricsUrl: metricsServer ? `http://${host}:${metricsServer.port}/metrics` : null,
    shutdown: async () => {
      await drain.start(server, (options.shutdownGraceSeconds ?? 10) * 1000, context.timers);
      await running.close();
    },
    close: async () => {
      stopSweeps();
      await webhookWorker.stop();
      await notificationWorker.stop();
      await scheduleWorker.stop();
      await jobWorker.stop();
      await rolloutWorker.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (metricsServer) await new Promise<void>((resolve) => metricsServer.server.close(() => resolve()));
      await sharedSignals?.close();
      context.rateLimit.counters.close();
      // Heartbeats answered before the close keep their metric samples.
      await flushMetricSamples(context);
      await db.destroy();
      if (blobDir.temporary) await rm(blobDir.path, { recursive: true, force: true });
    },
  };
  return running;
}

import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { ServerMetrics } from './http/metrics';
import type { RateLimitCounters } from './http/rate-limit';
import type { BlobStore } from './lifecycle/blob-store';
import type { Signals } from './runtime/signals';
import type { Timers } from './runtime/timers';
import type { Engine } from './store/database';
import type { Database } from './store/schema';

/** How the fleet behaves; every duration in seconds. */
export interface FleetSettings {
  /** How often agents are told to send heartbeats. */
  heartbeatIntervalSeconds: number;
  /** The `wait_seconds` agents are told to long-poll for commands with. */
  commandPollWaitSeconds: number;
  /** A device with no heartbeat for this long is marked offline by the sweep. */
  offlineAfterSeconds: number;
  /** How often the background sweeps run (offline devices, expired requests and commands). */
  sweepIntervalSeconds: number;
  /** Lifetime of an agent's access token. */
  accessTokenTtlSeconds: number;
  /** Lifetime of an agent's refresh token. */
  refreshTokenTtlSeconds: number;
  /** How often a waiting agent is told to poll its enrolment request. */
  enrollmentPollIntervalSeconds: number;
  /** A pending enrolment request nobody decides within this time expires. */
  pendingEnrollmentTtlSeconds: number;
  /** An approved request whose agent does not collect its credentials within this time expires. */
  approvedEnrollmentTtlSeconds: number;
}

export const DEFAULT_FLEET_SETTINGS: FleetSettings = {
  heartbeatIntervalSeconds: 60,
  commandPollWaitSeconds: 30,
  offlineAfterSeconds: 180,
  sweepIntervalSeconds: 30,
  accessTokenTtlSeconds: 15 * 60,
  refreshTokenTtlSeconds: 30 * 24 * 60 * 60,
  enrollmentPollIntervalSeconds: 30,
  pendingEnrollmentTtlSeconds: 7 * 24 * 60 * 60,
  approvedEnrollmentTtlSeconds: 24 * 60 * 60,
};

/** Passkeys (auth/passkeys-handlers.ts): where their ceremonies may take place. */
export interface WebAuthnSettings {
  /** The domain passkeys are bound to (MERIDIAN_WEBAUTHN_RP_ID); `localhost` by default. */
  rpId: string;
  /**
   * The origins whose pages may run the ceremonies (MERIDIAN_WEBAUTHN_ORIGINS). When not given:
   * `https://<rpId>`, or for `localhost` the server's own `http://localhost:<port>`.
   */
  origins: readonly string[] | undefined;
}

/** Outgoing webhooks. */
export interface WebhookSettings {
  /** Allow endpoints on loopback and private networks (never link-local or metadata addresses). */
  allowPrivateTargets: boolean;
  /** The key the endpoints' signing secrets are encrypted with in the database. */
  secretsKey: string;
  /** How long an endpoint has to answer a delivery. */
  attemptTimeoutSeconds: number;
  /**
   * Resolves the host name of a webhook URL or an SMTP server to the addresses checked against the
   * SSRF rule (webhook-targets.ts); the connection then goes to an address it answered, never
   * resolving again. The system's resolver by default; tests give a hostile one.
   */
  resolve: (host: string) => Promise<{ address: string; family: number }[]>;
}

/** How long sessions last (auth/sessions.ts). */
export interface SessionSettings {
  /** A session unused this long ends (MERIDIAN_SESSION_IDLE_MINUTES); not for `remember_me` ones. */
  idleMinutes: number;
  /** A session ends this long after sign-in, used or not (MERIDIAN_SESSION_LIFETIME_HOURS). */
  lifetimeHours: number;
  /** The lifetime of a `remember_me` session instead (MERIDIAN_SESSION_REMEMBER_DAYS). */
  rememberDays: number;
}

export const DEFAULT_SESSION_SETTINGS: SessionSettings = {
  idleMinutes: 60,
  lifetimeHours: 12,
  rememberDays: 30,
};

/** When failed sign-ins lock an account (auth/lockout.ts). */
export interface LockoutSettings {
  /** Failed sign-ins of one username (MERIDIAN_LOCKOUT_THRESHOLD)… */
  threshold: number;
  /** …within this many minutes (MERIDIAN_LOCKOUT_WINDOW_MINUTES)… */
  windowMinutes: number;
  /** …lock it for this long (MERIDIAN_LOCKOUT_MINUTES), or until an admin unlocks it. */
  lockMinutes: number;
}

export const DEFAULT_LOCKOUT_SETTINGS: LockoutSettings = {
  threshold: 10,
  windowMinutes: 15,
  lockMinutes: 15,
};

/** What handlers and shared middleware need from the running server. */
export interface AppContext {
  db: Kysely<Database>;
  engine: Engine;
  version: string;
  /** scrypt cost parameter (N). Lower only in tests. */
  passwordCost: number;
  sessions: SessionSettings;
  lockout: LockoutSettings;
  rateLimit: {
    requestsPerMinute: number;
    loginFailuresPerMinute: number;
    /** Where the counters live: PostgreSQL (shared by the instances) or memory (http/rate-limit.ts). */
    counters: RateLimitCounters;
  };
  /** Express's `trust proxy`: which proxies' X-Forwarded-For gives the client's address. */
  trustProxy: boolean | number | string;
  /** Origins whose pages may call the API with a bearer token (CORS). */
  corsOrigins: readonly string[];
  /** Validate every response against the contract (on outside production). */
  validateResponses: boolean;
  fleet: FleetSettings;
  webhooks: WebhookSettings;
  webauthn: WebAuthnSettings;
  /** Signs the audit chain (integrate/audit-key.ts); never stored in the database. */
  auditKey: Buffer;
  now(): Date;
  /** Every delay the server waits for goes through these (tests drive them with their clock). */
  timers: Timers;
  /** Wake-ups for long-polls, waits and streams (runtime/signals.ts). */
  signals: Signals;
  /**
   * Aborted when a graceful shutdown starts (runtime/shutdown.ts): waits and long-polls answer
   * with what they have, event streams end, GET /ready answers 503.
   */
  draining: AbortSignal;
  /** Operational logs (http/logging.ts): one line per request, background failures. */
  log: Logger;
  /** Prometheus metrics of this server (http/metrics.ts). */
  metrics: ServerMetrics;
  /** Uploaded files (agent builds, installers), content-addressed (lifecycle/blob-store.ts). */
  blobs: BlobStore;
  /** Uploads: refused above `maxBytes` (MERIDIAN_ARTIFACT_MAX_BYTES). */
  artifacts: { maxBytes: number };
  /** The server's URL as agents reach it (MERIDIAN_PUBLIC_URL); else the request's own. */
  publicUrl: string | undefined;
}

export const nowIso = (context: AppContext): string => context.now().toISOString();

/** `seconds` after the context's now, as an RFC 3339 string. */
export const isoAfter = (context: AppContext, seconds: number): string =>
  new Date(context.now().getTime() + seconds * 1000).toISOString();

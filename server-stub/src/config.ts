/**
 * The server's configuration: every environment variable `npm start` reads, validated by one zod
 * schema (README: Configuration). An empty variable counts as unset. A wrong value is a
 * ConfigError whose message names each variable at fault and what it allows.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { MIN_AUDIT_KEY_LENGTH } from './integrate/audit-key';
import type { ServerOptions } from './index';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const POSTGRES_URL = /^postgres(ql)?:\/\//;

/** A whole number from `min` to `max`, written in decimal digits. */
function wholeNumber(min: number, max: number, unit: string) {
  const error = `must be a whole number of ${unit} from ${min} to ${max}`;
  return z
    .string()
    .regex(/^\d+$/, { error })
    .transform(Number)
    .pipe(z.number().min(min, { error }).max(max, { error }));
}

const port = wholeNumber(0, 65_535, 'a port');

const trueOrFalse = z
  .enum(['true', 'false'], { error: 'must be true or false' })
  .transform((v) => v === 'true');

/** A secret key of at least 32 characters, as `openssl rand` prints them. */
function secretKey(example: string) {
  return z
    .string()
    .min(MIN_AUDIT_KEY_LENGTH, { error: `must be at least ${MIN_AUDIT_KEY_LENGTH} characters (${example})` });
}

function isOrigin(origin: string): boolean {
  return URL.canParse(origin) && new URL(origin).origin === origin;
}

/** A comma-separated list of origins such as https://console.example.com. */
const originList = z
  .string()
  .transform((raw) =>
    raw
      .split(',')
      .map((origin) => origin.trim())
      .filter((origin) => origin !== ''),
  )
  .pipe(
    z.array(
      z.string().refine(isOrigin, {
        error: (issue) =>
          `must list origins such as https://console.example.com (scheme, host and port, no path), not ${String(issue.input)}`,
      }),
    ),
  );

/** A domain name as WebAuthn's relying party ID: lowercase labels, no scheme, port or path. */
const DOMAIN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** Whether a page of `origin` may use passkeys bound to `rpId` (its host is the domain or under it). */
function originFitsRpId(origin: string, rpId: string): boolean {
  const { hostname } = new URL(origin);
  return hostname === rpId || hostname.endsWith(`.${rpId}`);
}

export const configSchema = z
  .object({
    NODE_ENV: z
      .enum(['production', 'development', 'test'], { error: 'must be production, development or test' })
      .default('development'),
    PORT: port.default(8080),
    DATABASE_URL: z
      .string()
      .regex(POSTGRES_URL, { error: 'must be a postgres:// or postgresql:// URL' })
      .optional(),
    MERIDIAN_DB: z.string().default('./data/meridian.sqlite'),
    MERIDIAN_ADMIN_USERNAME: z.string().default('admin'),
    MERIDIAN_ADMIN_PASSWORD: z.string().optional(),
    MERIDIAN_AUDIT_KEY: secretKey('openssl rand -hex 32').optional(),
    MERIDIAN_TRUST_PROXY: z
      .string()
      .transform((raw) =>
        raw === 'true' || raw === 'false' ? raw === 'true' : /^\d+$/.test(raw) ? Number(raw) : raw,
      )
      .default('loopback'),
    MERIDIAN_CORS_ORIGINS: originList.default([]),
    MERIDIAN_WEBHOOKS_ALLOW_PRIVATE: trueOrFalse.default(false),
    MERIDIAN_WEBHOOK_SECRETS_KEY: secretKey('openssl rand -base64 32').optional(),
    MERIDIAN_HEARTBEAT_INTERVAL_SECONDS: wholeNumber(5, 86_400, 'seconds').optional(),
    MERIDIAN_OFFLINE_AFTER_SECONDS: wholeNumber(5, 86_400, 'seconds').optional(),
    MERIDIAN_LOG_LEVEL: z
      .enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` })
      .default('info'),
    MERIDIAN_METRICS_PORT: port.optional(),
    MERIDIAN_SHUTDOWN_GRACE_SECONDS: wholeNumber(0, 3600, 'seconds').default(10),
    MERIDIAN_LOCKOUT_THRESHOLD: wholeNumber(1, 1000, 'failed sign-ins').optional(),
    MERIDIAN_LOCKOUT_WINDOW_MINUTES: wholeNumber(1, 1440, 'minutes').optional(),
    MERIDIAN_LOCKOUT_MINUTES: wholeNumber(1, 10_080, 'minutes').optional(),
    MERIDIAN_SESSION_IDLE_MINUTES: wholeNumber(1, 10_080, 'minutes').optional(),
    MERIDIAN_SESSION_LIFETIME_HOURS: wholeNumber(1, 8760, 'hours').optional(),
    MERIDIAN_SESSION_REMEMBER_DAYS: wholeNumber(1, 365, 'days').optional(),
    MERIDIAN_WEBAUTHN_RP_ID: z
      .string()
      .regex(DOMAIN, { error: 'must be a domain name such as meridian.example.com (no scheme or port)' })
      .default('localhost'),
    MERIDIAN_WEBAUTHN_ORIGINS: originList.optional(),
    MERIDIAN_BLOB_DIR: z.string().optional(),
    MERIDIAN_ARTIFACT_MAX_BYTES: wholeNumber(1, 1024 ** 4, 'bytes').optional(),
    MERIDIAN_PUBLIC_URL: z
      .string()
      // It is written into shell and PowerShell commands: a plain URL, no quotes, query or fragment.
      .refine((url) => /^https?:[/][/][A-Za-z0-9.:[\]/_~%-]+$/.test(url) && URL.canParse(url), {
        error: 'must be the http:// or https:// URL agents reach Meridian at (no query, quotes or spaces)',
      })
      .transform((url) => url.replace(/\/+$/, ''))
      .optional(),
  })
  .superRefine((env, ctx) => {
    for (const origin of env.MERIDIAN_WEBAUTHN_ORIGINS ?? []) {
      if (!originFitsRpId(origin, env.MERIDIAN_WEBAUTHN_RP_ID))
        ctx.addIssue({
          code: 'custom',
          path: ['MERIDIAN_WEBAUTHN_ORIGINS'],
          message: `must list origins on MERIDIAN_WEBAUTHN_RP_ID (${env.MERIDIAN_WEBAUTHN_RP_ID}) or under it, not ${origin}`,
        });
    }
    if (env.DATABASE_URL === undefined) return;
    if (env.MERIDIAN_AUDIT_KEY === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['MERIDIAN_AUDIT_KEY'],
        message:
          'is required with DATABASE_URL (openssl rand -hex 32), the same on every instance: it signs the audit chain',
      });
    if (env.MERIDIAN_WEBHOOK_SECRETS_KEY === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['MERIDIAN_WEBHOOK_SECRETS_KEY'],
        message:
          'is required with DATABASE_URL (openssl rand -base64 32), the same on every instance: it encrypts webhook secrets',
      });
  });

export type Environment = z.output<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The environment, validated; a ConfigError naming every wrong variable otherwise. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): Environment {
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const result = configSchema.safeParse(given);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `  ${String(issue.path[0])} ${issue.message}`);
  throw new ConfigError(`Meridian cannot start, its configuration is wrong:\n${lines.join('\n')}`);
}

/**
 * Unless MERIDIAN_WEBHOOK_SECRETS_KEY is set, a SQLite server keeps a generated key in
 * `webhook-secrets.key` beside its database file (and a `:memory:` one a key per process).
 */
function webhookSecretsKey(env: Environment, database: string): string | undefined {
  if (env.MERIDIAN_WEBHOOK_SECRETS_KEY !== undefined) return env.MERIDIAN_WEBHOOK_SECRETS_KEY;
  if (database === ':memory:') return undefined;
  const file = join(dirname(database), 'webhook-secrets.key');
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}

/** The settings that are set (the server's defaults apply to the others). */
function defined<T extends object>(settings: { [K in keyof T]: T[K] | undefined }): Partial<T> {
  return Object.fromEntries(
    Object.entries(settings).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}

/** The options `npm start` gives startServer (creating the webhook secrets key file if needed). */
export function serverOptions(env: Environment): ServerOptions {
  const database = env.DATABASE_URL ?? env.MERIDIAN_DB;
  const secretsKey = webhookSecretsKey(env, database);
  const { MERIDIAN_HEARTBEAT_INTERVAL_SECONDS: heartbeat, MERIDIAN_OFFLINE_AFTER_SECONDS: offline } = env;
  return {
    database,
    port: env.PORT,
    adminUsername: env.MERIDIAN_ADMIN_USERNAME,
    adminPassword: env.MERIDIAN_ADMIN_PASSWORD,
    auditKey: env.MERIDIAN_AUDIT_KEY,
    trustProxy: env.MERIDIAN_TRUST_PROXY,
    corsOrigins: env.MERIDIAN_CORS_ORIGINS,
    validateResponses: env.NODE_ENV !== 'production',
    logLevel: env.MERIDIAN_LOG_LEVEL,
    metricsPort: env.MERIDIAN_METRICS_PORT,
    shutdownGraceSeconds: env.MERIDIAN_SHUTDOWN_GRACE_SECONDS,
    sessions: defined({
      idleMinutes: env.MERIDIAN_SESSION_IDLE_MINUTES,
      lifetimeHours: env.MERIDIAN_SESSION_LIFETIME_HOURS,
      rememberDays: env.MERIDIAN_SESSION_REMEMBER_DAYS,
    }),
    lockout: defined({
      threshold: env.MERIDIAN_LOCKOUT_THRESHOLD,
      windowMinutes: env.MERIDIAN_LOCKOUT_WINDOW_MINUTES,
      lockMinutes: env.MERIDIAN_LOCKOUT_MINUTES,
    }),
    webauthn: {
      rpId: env.MERIDIAN_WEBAUTHN_RP_ID,
      ...(env.MERIDIAN_WEBAUTHN_ORIGINS === undefined ? {} : { origins: env.MERIDIAN_WEBAUTHN_ORIGINS }),
    },
    ...(env.MERIDIAN_BLOB_DIR === undefined ? {} : { blobDir: env.MERIDIAN_BLOB_DIR }),
    ...(env.MERIDIAN_ARTIFACT_MAX_BYTES === undefined
      ? {}
      : { artifactMaxBytes: env.MERIDIAN_ARTIFACT_MAX_BYTES }),
    ...(env.MERIDIAN_PUBLIC_URL === undefined ? {} : { publicUrl: env.MERIDIAN_PUBLIC_URL }),
    webhooks: {
      allowPrivateTargets: env.MERIDIAN_WEBHOOKS_ALLOW_PRIVATE,
      ...(secretsKey === undefined ? {} : { secretsKey }),
    },
    fleet: {
      ...(heartbeat === undefined ? {} : { heartbeatIntervalSeconds: heartbeat }),
      ...(offline === undefined ? {} : { offlineAfterSeconds: offline }),
    },
  };
}

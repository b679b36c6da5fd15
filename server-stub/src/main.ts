/** `npm start`: Meridian on its embedded default, configured from the environment. */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startServer, type FleetSettings, type ServerOptions, type WebhookSettings } from './index';

/** A whole number of seconds from the environment, or nothing when the variable is unset. */
function seconds(variable: string, setting: keyof FleetSettings): Partial<FleetSettings> {
  const raw = process.env[variable];
  if (raw === undefined || raw === '') return {};
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 5 || value > 86_400)
    throw new Error(`${variable} must be a whole number of seconds from 5 to 86400, not ${raw}`);
  return { [setting]: value };
}

/** MERIDIAN_TRUST_PROXY as Express's `trust proxy`: true/false, a hop count, or addresses and subnets. */
function trustProxy(): Pick<ServerOptions, 'trustProxy'> {
  const raw = process.env.MERIDIAN_TRUST_PROXY;
  if (raw === undefined || raw === '') return {};
  if (raw === 'true' || raw === 'false') return { trustProxy: raw === 'true' };
  return { trustProxy: /^\d+$/.test(raw) ? Number(raw) : raw };
}

/** MERIDIAN_CORS_ORIGINS: a comma-separated list of origins (scheme, host and port, no path). */
function corsOrigins(): Pick<ServerOptions, 'corsOrigins'> {
  const origins = (process.env.MERIDIAN_CORS_ORIGINS ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
  for (const origin of origins) {
    if (!URL.canParse(origin) || new URL(origin).origin !== origin)
      throw new Error(
        `MERIDIAN_CORS_ORIGINS must list origins such as https://console.example.com, not ${origin}`,
      );
  }
  return { corsOrigins: origins };
}

/**
 * MERIDIAN_WEBHOOK_SECRETS_KEY encrypts webhook secrets in the database. Unset, a SQLite server
 * keeps a generated key in `webhook-secrets.key` beside its database file; several instances on
 * PostgreSQL must all be given the same key.
 */
function webhookSecretsKey(database: string): string | undefined {
  const key = process.env.MERIDIAN_WEBHOOK_SECRETS_KEY;
  if (key !== undefined && key !== '') {
    if (key.length < 32)
      throw new Error(
        'MERIDIAN_WEBHOOK_SECRETS_KEY must be at least 32 characters (openssl rand -base64 32)',
      );
    return key;
  }
  if (/^postgres(ql)?:\/\//.test(database))
    throw new Error(
      'Set MERIDIAN_WEBHOOK_SECRETS_KEY (openssl rand -base64 32), the same on every instance: it encrypts webhook secrets',
    );
  if (database === ':memory:') return undefined;
  const file = join(dirname(database), 'webhook-secrets.key');
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}

/** MERIDIAN_WEBHOOKS_ALLOW_PRIVATE (true or false) and the webhook secrets key. */
function webhookSettings(database: string): Partial<WebhookSettings> {
  const allow = process.env.MERIDIAN_WEBHOOKS_ALLOW_PRIVATE ?? '';
  if (!['', 'true', 'false'].includes(allow))
    throw new Error(`MERIDIAN_WEBHOOKS_ALLOW_PRIVATE must be true or false, not ${allow}`);
  const secretsKey = webhookSecretsKey(database);
  return { allowPrivateTargets: allow === 'true', ...(secretsKey ? { secretsKey } : {}) };
}

const database = process.env.DATABASE_URL ?? process.env.MERIDIAN_DB ?? './data/meridian.sqlite';
const server = await startServer({
  database,
  port: Number(process.env.PORT ?? 8080),
  adminUsername: process.env.MERIDIAN_ADMIN_USERNAME ?? 'admin',
  ...(process.env.MERIDIAN_ADMIN_PASSWORD ? { adminPassword: process.env.MERIDIAN_ADMIN_PASSWORD } : {}),
  ...(process.env.MERIDIAN_AUDIT_KEY ? { auditKey: process.env.MERIDIAN_AUDIT_KEY } : {}),
  ...trustProxy(),
  ...corsOrigins(),
  webhooks: webhookSettings(database),
  fleet: {
    ...seconds('MERIDIAN_HEARTBEAT_INTERVAL_SECONDS', 'heartbeatIntervalSeconds'),
    ...seconds('MERIDIAN_OFFLINE_AFTER_SECONDS', 'offlineAfterSeconds'),
  },
});

console.log(`Meridian ${server.context.version} is running (${server.context.engine}).
  API           ${server.url}/v1
  OpenAPI spec  ${server.url}/openapi.json
  Try-It docs   ${server.url}/docs
  Audit key     ${server.auditKeySource}`);
if (server.bootstrap) {
  console.log(`\nCreated the first admin user: ${server.bootstrap.username}`);
  console.log(
    server.bootstrap.generatedPassword
      ? `  password: ${server.bootstrap.generatedPassword}\n  (generated; shown only this once — change it with POST /v1/auth/password)`
      : '  password: the one in MERIDIAN_ADMIN_PASSWORD',
  );
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void server.close().then(() => process.exit(0));
  });
}

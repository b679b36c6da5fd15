/** `npm start`: Meridian on its embedded default, configured from the environment. */
import { startServer, type FleetSettings, type ServerOptions } from './index';

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

const server = await startServer({
  database: process.env.DATABASE_URL ?? process.env.MERIDIAN_DB ?? './data/meridian.sqlite',
  port: Number(process.env.PORT ?? 8080),
  adminUsername: process.env.MERIDIAN_ADMIN_USERNAME ?? 'admin',
  ...(process.env.MERIDIAN_ADMIN_PASSWORD ? { adminPassword: process.env.MERIDIAN_ADMIN_PASSWORD } : {}),
  ...(process.env.MERIDIAN_AUDIT_KEY ? { auditKey: process.env.MERIDIAN_AUDIT_KEY } : {}),
  ...trustProxy(),
  ...corsOrigins(),
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

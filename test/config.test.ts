/**
 * Configuration (server-stub/src/config.ts): `npm start` with wrong values stops before it
 * listens, naming each variable at fault and what it allows; good values become the server's
 * options.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readConfig, serverOptions } from '../server-stub/src/config';

const MAIN = fileURLToPath(new URL('../server-stub/src/main.ts', import.meta.url));

/** Runs main.ts as `npm start` does, with these variables added; resolves with its exit code and stderr. */
async function start(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  try {
    await promisify(execFile)(process.execPath, ['--import', 'tsx', MAIN], {
      env: { ...process.env, MERIDIAN_DB: ':memory:', PORT: '0', ...env },
      timeout: 30_000,
    });
    return { code: 0, stderr: '' };
  } catch (error) {
    const { code, stderr } = error as { code: number; stderr: string };
    return { code, stderr };
  }
}

describe('a wrong value stops the start', () => {
  it('names every variable at fault and what it allows, and exits with 1', async () => {
    const { code, stderr } = await start({
      MERIDIAN_LOG_LEVEL: 'loud',
      PORT: 'eighty',
      MERIDIAN_SHUTDOWN_GRACE_SECONDS: '-1',
      MERIDIAN_METRICS_PORT: '70000',
      MERIDIAN_WEBHOOKS_ALLOW_PRIVATE: 'yes',
      MERIDIAN_CORS_ORIGINS: 'https://console.example.com,https://example.com/path',
      MERIDIAN_PUBLIC_URL: "https://meridian.example.com/x';reboot;'",
      NODE_ENV: 'staging',
    });
    expect(code).toBe(1);
    expect(stderr).toContain('configuration is wrong');
    expect(stderr).toContain(
      'MERIDIAN_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    );
    expect(stderr).toContain('PORT must be a whole number of a port from 0 to 65535');
    expect(stderr).toContain(
      'MERIDIAN_SHUTDOWN_GRACE_SECONDS must be a whole number of seconds from 0 to 3600',
    );
    expect(stderr).toContain('MERIDIAN_METRICS_PORT must be a whole number of a port from 0 to 65535');
    expect(stderr).toContain('MERIDIAN_WEBHOOKS_ALLOW_PRIVATE must be true or false');
    expect(stderr).toContain('MERIDIAN_CORS_ORIGINS must list origins');
    expect(stderr).toContain('not https://example.com/path');
    expect(stderr).toContain(
      'MERIDIAN_PUBLIC_URL must be the http:// or https:// URL agents reach Meridian at',
    );
    expect(stderr).toContain('NODE_ENV must be production, development or test');
    expect(stderr).not.toMatch(/^\s+at /m); // a message, not a stack trace
  });

  it('with DATABASE_URL, requires the keys every instance shares', async () => {
    const { code, stderr } = await start({ DATABASE_URL: 'postgres://meridian@localhost/meridian' });
    expect(code).toBe(1);
    expect(stderr).toContain('MERIDIAN_AUDIT_KEY is required with DATABASE_URL');
    expect(stderr).toContain('MERIDIAN_WEBHOOK_SECRETS_KEY is required with DATABASE_URL');
  });
});

describe('good values', () => {
  it('gives the defaults for what is unset or empty', () => {
    const env = readConfig({ PORT: '', MERIDIAN_DB: ':memory:' });
    expect(env).toMatchObject({
      NODE_ENV: 'development',
      PORT: 8080,
      MERIDIAN_LOG_LEVEL: 'info',
      MERIDIAN_SHUTDOWN_GRACE_SECONDS: 10,
      MERIDIAN_TRUST_PROXY: 'loopback',
      MERIDIAN_CORS_ORIGINS: [],
      MERIDIAN_WEBHOOKS_ALLOW_PRIVATE: false,
    });
    expect(env.MERIDIAN_METRICS_PORT).toBeUndefined();
    expect(serverOptions(env)).toMatchObject({ database: ':memory:', port: 8080, validateResponses: true });
  });

  it('becomes the server options', () => {
    const options = serverOptions(
      readConfig({
        NODE_ENV: 'production',
        DATABASE_URL: 'postgresql://db/meridian',
        MERIDIAN_DB: 'ignored.sqlite',
        MERIDIAN_AUDIT_KEY: 'a'.repeat(32),
        MERIDIAN_WEBHOOK_SECRETS_KEY: 'w'.repeat(32),
        MERIDIAN_TRUST_PROXY: '2',
        MERIDIAN_CORS_ORIGINS: ' https://console.example.com , http://localhost:5173',
        MERIDIAN_LOG_LEVEL: 'warn',
        MERIDIAN_METRICS_PORT: '9464',
        MERIDIAN_SHUTDOWN_GRACE_SECONDS: '30',
        MERIDIAN_HEARTBEAT_INTERVAL_SECONDS: '15',
        MERIDIAN_PUBLIC_URL: 'https://meridian.example.com/fleet/',
      }),
    );
    expect(options).toMatchObject({
      database: 'postgresql://db/meridian',
      validateResponses: false,
      trustProxy: 2,
      corsOrigins: ['https://console.example.com', 'http://localhost:5173'],
      logLevel: 'warn',
      metricsPort: 9464,
      shutdownGraceSeconds: 30,
      webhooks: { allowPrivateTargets: false, secretsKey: 'w'.repeat(32) },
      fleet: { heartbeatIntervalSeconds: 15 },
      publicUrl: 'https://meridian.example.com/fleet',
    });
    expect(readConfig({ MERIDIAN_TRUST_PROXY: 'true' }).MERIDIAN_TRUST_PROXY).toBe(true);
    expect(readConfig({ MERIDIAN_TRUST_PROXY: 'loopback, 10.0.0.0/8' }).MERIDIAN_TRUST_PROXY).toBe(
      'loopback, 10.0.0.0/8',
    );
  });
});

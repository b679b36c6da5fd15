/**
 * E-mail through a channel's SMTP server (nodemailer). The host is checked against the SSRF rule
 * of webhooks (webhook-targets.ts) before each connection, since the name may resolve elsewhere by
 * then, and nodemailer connects to the very address checked (no second resolution a hostile DNS
 * server could answer with another address), presenting and verifying the host name in TLS.
 * Sending answers an outcome rather than throwing: the caller records it.
 */
import { isIP } from 'node:net';
import nodemailer from 'nodemailer';
import type { AppContext } from '../context';
import { checkTarget, type TargetVerdict } from './webhook-targets';

export interface SmtpSettings {
  host: string;
  port: number;
  tls: 'none' | 'starttls' | 'tls';
  from: string;
  to: string[];
}

export interface SmtpCredentials {
  username: string;
  password: string;
}

export interface Email {
  subject: string;
  text: string;
}

export interface SendOutcome {
  delivered: boolean;
  latency_ms: number;
  error: string | null;
}

/** How long connecting, the greeting and each SMTP exchange may take. */
const SMTP_TIMEOUT_MS = 10_000;
const ERROR_LIMIT = 1000;

/** Whether the SMTP server at `host` may be connected to (the SSRF rule of webhooks). */
export function checkSmtpHost(context: AppContext, host: string, port: number): Promise<TargetVerdict> {
  let url: string;
  try {
    url = new URL(`smtp://${host.includes(':') ? `[${host}]` : host}:${port}`).href;
  } catch {
    return Promise.resolve({ allowed: false, reason: `${host} is not a host name or address` });
  }
  return checkTarget(context, url);
}

export async function sendEmail(
  context: AppContext,
  settings: SmtpSettings,
  credentials: SmtpCredentials | null,
  email: Email,
): Promise<SendOutcome> {
  const started = performance.now();
  const outcome = (error: string | null): SendOutcome => ({
    delivered: error === null,
    latency_ms: Math.round(performance.now() - started),
    error: error?.slice(0, ERROR_LIMIT) ?? null,
  });
  const verdict = await checkSmtpHost(context, settings.host, settings.port);
  if (!verdict.allowed) return outcome(`refused to connect: ${verdict.reason}`);
  const transport = nodemailer.createTransport({
    host: verdict.address,
    // TLS (SNI and the certificate check) is about the name, although the connection goes to the address.
    ...(isIP(settings.host) ? {} : { servername: settings.host }),
    port: settings.port,
    secure: settings.tls === 'tls',
    requireTLS: settings.tls === 'starttls',
    ignoreTLS: settings.tls === 'none',
    ...(credentials ? { auth: { user: credentials.username, pass: credentials.password } } : {}),
    connectionTimeout: SMTP_TIMEOUT_MS,
    greetingTimeout: SMTP_TIMEOUT_MS,
    socketTimeout: SMTP_TIMEOUT_MS,
  });
  try {
    const info = await transport.sendMail({ from: settings.from, to: settings.to, ...email });
    const rejected = info.rejected.map(String);
    return outcome(rejected.length === 0 ? null : `recipients refused: ${rejected.join(', ')}`);
  } catch (error) {
    return outcome(error instanceof Error ? error.message : String(error));
  } finally {
    transport.close();
  }
}

import type { z } from 'zod';
import type { AppContext } from '../context';
import type {
  EmailSettingsInput,
  NotificationChannel,
  NotificationChannelCreate,
  WebhookChannelSettings,
} from '../generated/contract.gen';
import { seal, unseal } from '../http/replay-seal';
import { problems } from '../http/problem';
import { oneOrNotFound } from '../store/found';
import type { NotificationChannelRow } from '../store/schema';
import { checkSmtpHost, type SmtpCredentials, type SmtpSettings } from './email';

/** SMTP credentials are sealed like webhook secrets, under the same server key (another label). */
const sealingKey = (context: AppContext): string =>
  `notification-credentials\0${context.webhooks.secretsKey}`;

export function openCredentials(context: AppContext, row: NotificationChannelRow): SmtpCredentials | null {
  return row.credentials === null
    ? null
    : (JSON.parse(unseal(sealingKey(context), row.credentials)) as SmtpCredentials);
}

export const smtpSettings = (row: NotificationChannelRow): SmtpSettings =>
  JSON.parse(row.settings) as SmtpSettings;

/** The channel as the API shows it: never its password. */
export function toNotificationChannel(
  context: AppContext,
  row: NotificationChannelRow,
): z.infer<typeof NotificationChannel> {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    email:
      row.kind === 'email'
        ? { ...smtpSettings(row), username: openCredentials(context, row)?.username ?? null }
        : null,
    webhook: row.webhook_id === null ? null : { webhook_id: row.webhook_id },
    enabled: row.enabled === 1,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function findNotificationChannel(context: AppContext, id: string): Promise<NotificationChannelRow> {
  return oneOrNotFound(
    context.db.selectFrom('notification_channels').selectAll().where('id', '=', id),
    'notification channel',
    id,
  );
}

/**
 * Refuses (422) settings of the other kind than the channel's, or missing settings of its own
 * kind at creation.
 */
export function assertSettingsOfKind(
  kind: z.infer<typeof NotificationChannelCreate>['kind'],
  body: { email?: unknown; webhook?: unknown },
  creating: boolean,
): void {
  const other = kind === 'email' ? 'webhook' : 'email';
  const issues = [
    ...(body[other] === undefined ? [] : [{ path: `/body/${other}`, message: `not for a ${kind} channel` }]),
    ...(creating && body[kind] === undefined
      ? [{ path: `/body/${kind}`, message: `required for a ${kind} channel` }]
      : []),
  ];
  if (issues.length > 0)
    throw problems.unprocessable(
      'channel_settings_mismatch',
      `A ${kind} channel takes \`${kind}\` settings only: see errors.`,
      issues,
    );
}

/** The columns of a webhook channel's settings, after checking that the endpoint exists (422). */
export async function webhookColumns(
  context: AppContext,
  input: z.infer<typeof WebhookChannelSettings>,
): Promise<{ settings: string; credentials: null; webhook_id: string }> {
  const endpoint = await context.db
    .selectFrom('webhooks')
    .select('id')
    .where('id', '=', input.webhook_id)
    .executeTakeFirst();
  if (!endpoint) throw problems.unknownReference('webhook', [input.webhook_id]);
  return { settings: '{}', credentials: null, webhook_id: endpoint.id };
}

/**
 * The settings and sealed credentials columns of SMTP settings from a request, after checking
 * that credentials come as a pair and that the host may be connected to.
 */
export async function emailColumns(
  context: AppContext,
  input: z.infer<typeof EmailSettingsInput>,
): Promise<{ settings: string; credentials: string | null }> {
  const { username, password, ...settings } = input;
  if ((username === undefined) !== (password === undefined))
    throw problems.unprocessable(
      'smtp_credentials_incomplete',
      'Send both email.username and email.password to authenticate, or neither to send without.',
      [{ path: `/body/email/${username === undefined ? 'username' : 'password'}`, message: 'missing' }],
    );
  const verdict = await checkSmtpHost(context, settings.host, settings.port);
  if (!verdict.allowed)
    throw problems.unprocessable(
      'notification_host_not_allowed',
      `E-mail cannot be sent through ${settings.host}: ${verdict.reason}.`,
      [{ path: '/body/email/host', message: verdict.reason }],
    );
  return {
    settings: JSON.stringify(settings),
    credentials:
      username === undefined || password === undefined
        ? null
        : seal(sealingKey(context), JSON.stringify({ username, password })),
  };
}

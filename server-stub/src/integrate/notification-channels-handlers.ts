import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { nowIso } from '../context';
import { contract } from '../generated/contract.gen';
import { type HandlerArgs, type RouteArgs, setEtag, versionedRoutes } from '../http/etag';
import { paginate } from '../http/pagination';
import { newId } from '../store/ids';
import type { NotificationChannelRow } from '../store/schema';
import { sendEmail } from './email';
import {
  assertSettingsOfKind,
  emailColumns,
  findNotificationChannel,
  openCredentials,
  smtpSettings,
  toNotificationChannel,
  webhookColumns,
} from './notification-channels-store';
import { notificationsPage, sendWebhookTest } from './notifications';

export function notificationChannelsHandlers(context: AppContext) {
  const { db } = context;
  const present = (row: NotificationChannelRow) => toNotificationChannel(context, row);

  const channel = versionedRoutes(context, {
    table: 'notification_channels',
    read: ({ params }: RouteArgs<{ channel_id: string }>) =>
      findNotificationChannel(context, params.channel_id),
    present,
  });

  return initServer().router(contract.notificationChannels, {
    listNotificationChannels: async ({ query }) => ({
      status: 200,
      body: await paginate(query, db.selectFrom('notification_channels').selectAll(), present),
    }),

    createNotificationChannel: async ({ body, res }) => {
      assertSettingsOfKind(body.kind, body, true);
      const now = nowIso(context);
      const row = {
        id: newId('nch'),
        name: body.name,
        kind: body.kind,
        ...(body.kind === 'email'
          ? { ...(await emailColumns(context, body.email!)), webhook_id: null }
          : await webhookColumns(context, body.webhook!)),
        enabled: body.enabled === false ? 0 : 1,
        created_at: now,
        updated_at: now,
      };
      await db.insertInto('notification_channels').values(row).execute();
      setEtag(res, 1);
      return { status: 201, body: present({ ...row, version: 1 }) };
    },

    getNotificationChannel: channel.get,

    updateNotificationChannel: channel.update(
      async (
        { body }: HandlerArgs<typeof contract.notificationChannels.updateNotificationChannel>,
        current,
      ) => {
        assertSettingsOfKind(current.kind, body, false);
        return {
          ...(body.name === undefined ? {} : { name: body.name }),
          ...(body.email === undefined ? {} : await emailColumns(context, body.email)),
          ...(body.webhook === undefined ? {} : await webhookColumns(context, body.webhook)),
          ...(body.enabled === undefined ? {} : { enabled: body.enabled ? 1 : 0 }),
        };
      },
    ),

    deleteNotificationChannel: async ({ params }) => {
      await findNotificationChannel(context, params.channel_id);
      await db.deleteFrom('notification_channels').where('id', '=', params.channel_id).execute();
      return { status: 204, body: undefined };
    },

    listNotifications: async ({ query }) => ({ status: 200, body: await notificationsPage(context, query) }),

    testNotificationChannel: async ({ params }) => {
      const row = await findNotificationChannel(context, params.channel_id);
      if (row.webhook_id !== null)
        return { status: 200, body: await sendWebhookTest(context, row.webhook_id) };
      const outcome = await sendEmail(context, smtpSettings(row), openCredentials(context, row), {
        subject: `[Meridian] Test notification from ${row.name}`,
        text: `This is a test notification from Meridian, sent through the channel ${row.name} (${row.id}) at ${nowIso(context)}.\n`,
      });
      return { status: 200, body: outcome };
    },
  });
}

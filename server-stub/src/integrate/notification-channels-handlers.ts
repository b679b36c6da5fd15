import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { nowIso } from '../context';
import { contract } from '../generated/contract.gen';
import { type HandlerArgs, type RouteArgs, setEtag, versionedRoutes } from '../http/etag';
import { paginate } from '../http/pagination';
import { whereEqual } from '../store/filters';
import { newId } from '../store/ids';
import type { NotificationChannelRow } from '../store/schema';
import { sendEmail } from './email';
import {
  emailColumns,
  findNotificationChannel,
  openCredentials,
  smtpSettings,
  toNotificationChannel,
} from './notification-channels-store';

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
      const now = nowIso(context);
      const row = {
        id: newId('nch'),
        name: body.name,
        kind: body.kind,
        ...(await emailColumns(context, body.email)),
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
      async ({ body }: HandlerArgs<typeof contract.notificationChannels.updateNotificationChannel>) => ({
        ...(body.name === undefined ? {} : { name: body.name }),
        ...(body.email === undefined ? {} : await emailColumns(context, body.email)),
        ...(body.enabled === undefined ? {} : { enabled: body.enabled ? 1 : 0 }),
      }),
    ),

    deleteNotificationChannel: async ({ params }) => {
      await findNotificationChannel(context, params.channel_id);
      await db.deleteFrom('notification_channels').where('id', '=', params.channel_id).execute();
      return { status: 204, body: undefined };
    },

    listNotifications: async ({ query }) => {
      const select = whereEqual(
        db
          .selectFrom('notifications')
          .select([
            'id',
            'channel_id',
            'event_id',
            'event_type',
            'incident_id',
            'subject',
            'state',
            'attempt_count',
            'last_error',
            'next_attempt_at',
            'sent_at',
            'created_at',
          ]),
        { channel_id: query.channel_id, incident_id: query.incident_id, state: query.state },
      );
      return { status: 200, body: await paginate(query, select, (row) => row) };
    },

    testNotificationChannel: async ({ params }) => {
      const row = await findNotificationChannel(context, params.channel_id);
      const outcome = await sendEmail(context, smtpSettings(row), openCredentials(context, row), {
        subject: `[Meridian] Test notification from ${row.name}`,
        text: `This is a test notification from Meridian, sent through the channel ${row.name} (${row.id}) at ${nowIso(context)}.\n`,
      });
      return { status: 200, body: outcome };
    },
  });
}

/**
 * Screenshots: agents upload JPEGs, Meridian keeps the last 20 of each device, operators list
 * them and fetch the newest image.
 */
import { Readable } from 'node:stream';
import { initServer } from '@ts-rest/express';
import type { z } from 'zod';
import type { AppContext } from '../context';
import { contract, type Screenshot } from '../generated/contract.gen';
import { agentOf, principalOf } from '../http/principal';
import { problems } from '../http/problem';
import { newId } from '../store/ids';
import type { DeviceScreenshotsTable } from '../store/schema';
import { findVisibleDevice } from './devices-store';
import { jpegSize } from './jpeg';

const s = initServer();
const KEPT_PER_DEVICE = 20;

const toScreenshot = (row: Omit<DeviceScreenshotsTable, 'jpeg_base64'>): z.infer<typeof Screenshot> => ({
  id: row.id,
  device_id: row.device_id,
  captured_at: row.captured_at,
  size_bytes: row.size_bytes,
  width: row.width,
  height: row.height,
});

export function agentScreenshotRoutes(context: AppContext) {
  return {
    uploadAgentScreenshot: s.route(contract.agent.uploadAgentScreenshot, async ({ req }) => {
      const image = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const size = jpegSize(image);
      if (!size) throw problems.unprocessable('not_a_jpeg', 'The body is not a JPEG image.');
      const { deviceId } = agentOf(req);
      const row: DeviceScreenshotsTable = {
        id: newId('scr'),
        device_id: deviceId,
        captured_at: context.now().toISOString(),
        size_bytes: image.length,
        ...size,
        jpeg_base64: image.toString('base64'),
      };
      await context.db.insertInto('device_screenshots').values(row).execute();
      const kept = context.db
        .selectFrom('device_screenshots')
        .select('id')
        .where('device_id', '=', deviceId)
        .orderBy('id', 'desc')
        .limit(KEPT_PER_DEVICE);
      await context.db
        .deleteFrom('device_screenshots')
        .where('device_id', '=', deviceId)
        .where('id', 'not in', kept)
        .execute();
      return { status: 201, body: toScreenshot(row) };
    }),
  };
}

export function deviceScreenshotRoutes(context: AppContext) {
  return {
    listDeviceScreenshots: s.route(contract.devices.listDeviceScreenshots, async ({ params, req }) => {
      const device = await findVisibleDevice(context, principalOf(req), params.device_id);
      const rows = await context.db
        .selectFrom('device_screenshots')
        .select(['id', 'device_id', 'captured_at', 'size_bytes', 'width', 'height'])
        .where('device_id', '=', device.id)
        .orderBy('id', 'desc')
        .limit(KEPT_PER_DEVICE)
        .execute();
      return { status: 200, body: { data: rows.map(toScreenshot), next_cursor: null } };
    }),

    getLatestDeviceScreenshot: s.route(
      contract.devices.getLatestDeviceScreenshot,
      async ({ params, req, res }) => {
        const device = await findVisibleDevice(context, principalOf(req), params.device_id);
        const row = await context.db
          .selectFrom('device_screenshots')
          .selectAll()
          .where('device_id', '=', device.id)
          .orderBy('id', 'desc')
          .limit(1)
          .executeTakeFirst();
        if (!row) throw problems.notReported('no_screenshot', device.id, 'uploaded a screenshot');
        res.setHeader('Content-Type', 'image/jpeg');
        res.setHeader('Screenshot-Id', row.id);
        // ts-rest sends a Stream body as it is: the contract types the image as the bytes on the wire.
        return {
          status: 200,
          body: Readable.from([Buffer.from(row.jpeg_base64, 'base64')]) as unknown as string,
        };
      },
    ),
  };
}

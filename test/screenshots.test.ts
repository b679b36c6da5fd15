/** Screenshots: agents upload JPEGs (the last 20 kept), operators list them and fetch the newest. */
import { describe, expect, it } from 'vitest';
import { getLatestDeviceScreenshot, listDeviceScreenshots, uploadAgentScreenshot } from '@meridian/sdk';
import { addAgent, jpegBody, TINY_JPEG } from './support/agents';
import { ok } from './support/server';
import { expectProblem } from './support/problem';
import { useTestServer } from './support/use-test-server';
import { addSite } from './support/world';
import { jpegSize } from '../server-stub/src/fleet/jpeg';

const t = useTestServer();

/** A baseline JPEG header of the given size (enough for the server, which reads the size). */
function jpegOf(width: number, height: number): Buffer {
  const frame = Buffer.from([
    0xff,
    0xc0,
    0x00,
    0x11,
    0x08,
    height >> 8,
    height & 0xff,
    width >> 8,
    width & 0xff,
    0x03,
    1,
    0x22,
    0,
    2,
    0x11,
    1,
    3,
    0x11,
    1,
  ]);
  return Buffer.concat([
    Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00]),
    frame,
    Buffer.from([0xff, 0xd9]),
  ]);
}

describe('screenshots', () => {
  it('are stored as uploaded, listed newest first, and the newest is served as the JPEG itself', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    const none = await getLatestDeviceScreenshot({ client: t.admin, path: { device_id: agent.deviceId } });
    expectProblem(none, 404, 'no_screenshot');

    const first = await uploadAgentScreenshot({ client: agent.client, ...jpegBody() });
    expect(first.response.status).toBe(201);
    expect(first.data).toMatchObject({
      device_id: agent.deviceId,
      size_bytes: TINY_JPEG.length,
      width: 1,
      height: 1,
    });
    await t.clock.advance(1000);
    const second = ok(await uploadAgentScreenshot({ client: agent.client, ...jpegBody(jpegOf(1920, 1080)) }));
    expect(second).toMatchObject({ width: 1920, height: 1080 });

    expect(
      ok(await listDeviceScreenshots({ client: t.admin, path: { device_id: agent.deviceId } })).data.map(
        (s) => s.id,
      ),
    ).toEqual([second.id, first.data!.id]);
    const latest = await getLatestDeviceScreenshot({ client: t.admin, path: { device_id: agent.deviceId } });
    expect(latest.response.headers.get('content-type')).toBe('image/jpeg');
    expect(latest.response.headers.get('screenshot-id')).toBe(second.id);
    expect(Buffer.from(await (latest.data as Blob).arrayBuffer())).toEqual(jpegOf(1920, 1080));
  });

  it('keeps only the last 20 of a device', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    const ids: string[] = [];
    for (let i = 0; i < 22; i++)
      ids.push(
        ok(await uploadAgentScreenshot({ client: agent.client, ...jpegBody(jpegOf(100 + i, 100)) })).id,
      );
    const kept = ok(
      await listDeviceScreenshots({ client: t.admin, path: { device_id: agent.deviceId } }),
    ).data;
    expect(kept.map((s) => s.id)).toEqual(ids.slice(2).reverse());
  });

  it('refuses a body that is not a JPEG (422), and JSON (415)', async () => {
    const agent = await addAgent(t, (await addSite(t)).id);
    const png = await uploadAgentScreenshot({
      client: agent.client,
      ...jpegBody(Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex')),
    });
    expectProblem(png, 422, 'not_a_jpeg');
    const json = await uploadAgentScreenshot({
      client: agent.client,
      body: new Blob(['{}']),
      bodySerializer: null,
      headers: { 'Content-Type': 'application/json' },
    });
    expectProblem(json, 415, 'unsupported_media_type');
    expect(
      ok(await listDeviceScreenshots({ client: t.admin, path: { device_id: agent.deviceId } })).data,
    ).toEqual([]);
  });

  it('reads the size of baseline and progressive JPEGs, and nothing from other data', () => {
    expect(jpegSize(TINY_JPEG)).toEqual({ width: 1, height: 1 });
    expect(jpegSize(jpegOf(640, 480))).toEqual({ width: 640, height: 480 });
    expect(jpegSize(Buffer.from([0xff, 0xd8, 0xff]))).toBeUndefined();
    expect(jpegSize(Buffer.from('GIF89a'))).toBeUndefined();
  });
});

/**
 * Below the typed methods: the Response and Request-Id of any call, and meridian.request() for
 * any method and path. Reads only.
 *
 *   MERIDIAN_TOKEN=mtk_… npx tsx examples/sdk/raw-request.ts
 */
import Meridian from '@meridian/sdk';

const meridian = new Meridian({
  baseUrl: process.env.MERIDIAN_URL ?? 'http://localhost:8080',
  token: process.env.MERIDIAN_TOKEN,
});
// readme:start
import type { Device, DeviceList } from '@meridian/sdk';

// Any call: the parsed body with the Response and its Request-Id.
const { data: version, response, requestId } = await meridian.meta.getVersion().withResponse();
console.log(
  `Meridian ${version.version}: HTTP ${response.status} ${response.headers.get('content-type')}, request ${requestId}`,
);

// Any method and path (an operation newer than this SDK, say), with the same retries, errors and hooks:
const page = await meridian.request<DeviceList>('GET', '/v1/devices', { query: { limit: 1 } });
for (const { id } of page.data) {
  const device = await meridian.request<Device>('GET', '/v1/devices/{device_id}', {
    pathParams: { device_id: id },
  });
  console.log(`${device.id}: ${device.name}`);
}
// readme:end

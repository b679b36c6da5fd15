/**
 * What failures look like: a missing device (NotFoundError), an invalid body (BadRequestError
 * with one entry per field), and the fields every answered error carries. Changes nothing.
 *
 *   MERIDIAN_TOKEN=mtk_… npx tsx examples/sdk/errors.ts
 */
import Meridian from '@meridian/sdk';

const meridian = new Meridian({
  baseUrl: process.env.MERIDIAN_URL ?? 'http://localhost:8080',
  token: process.env.MERIDIAN_TOKEN,
});
// readme:start
import { APIError, BadRequestError, NotFoundError } from '@meridian/sdk';

try {
  await meridian.devices.get('dev_01JD2M7T4X9K3QH5W8N6R2B4CZ');
} catch (error) {
  if (!(error instanceof NotFoundError)) throw error;
  console.log(`not found: ${error.detail} (request ${error.requestId})`);
}

try {
  await meridian.sites.create({ name: '' });
} catch (error) {
  if (!(error instanceof BadRequestError)) throw error;
  for (const issue of error.errors) console.log(`invalid ${issue.path}: ${issue.message}`);
}

try {
  await meridian.devices.register({
    name: 'Ghost',
    site_id: 'site_01JC0A1B2C3D4E5F6G7H8J9K0M',
    platform: 'linux',
  });
} catch (error) {
  // Every error the server answered, whatever its class, has the problem's fields.
  if (!(error instanceof APIError)) throw error; // no answer: APIConnectionError, TimeoutError, UserAbortError
  console.log(`${error.name}: ${error.status} ${error.code}: ${error.detail}`);
}
// readme:end

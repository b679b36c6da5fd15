/** An integrator's script built on @meridian/sdk: what mocks/test/consumer/site-report.spec.ts tests. */
import { type Meridian, NotFoundError } from '@meridian/sdk';

/** The site's name and its online devices, or null when the site does not exist. */
export async function siteReport(meridian: Meridian, siteId: string) {
  try {
    const site = await meridian.sites.get(siteId);
    const page = await meridian.devices.list({ site_id: siteId, limit: 100 });
    return { site: site.name, online: page.data.filter((d) => d.status === 'online').map((d) => d.name) };
  } catch (error) {
    if (error instanceof NotFoundError) return null;
    throw error;
  }
}

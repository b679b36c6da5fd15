import { describe, expect, it } from 'vitest';
import { getHealth, getVersion } from '@meridian/sdk';
import { ok } from './support/server';
import { useTestServer } from './support/use-test-server';

const t = useTestServer();

describe('meta', () => {
  it('answers health checks without credentials, with the server clock', async () => {
    const result = await getHealth({ client: t.client() });
    const health = ok(result);
    expect(health.status).toBe('ok');
    expect(Math.abs(Date.parse(health.time) - Date.now())).toBeLessThan(60_000);
    expect(result.response.headers.get('request-id')).toMatch(/^req_/);
  });

  it('tells the version to any signed-in caller', async () => {
    expect(ok(await getVersion({ client: t.admin }))).toEqual({
      version: '0.1.0',
      api_version: 'v1',
      runtime: `node ${process.version}`,
      database: 'sqlite',
    });
  });

  it('serves the spec with this server as its server, and the docs', async () => {
    const spec = (await (await fetch(`${t.url}/openapi.json`)).json()) as {
      openapi: string;
      servers: { url: string }[];
    };
    expect(spec.openapi).toBe('3.1.0');
    expect(spec.servers[0]!.url).toBe(t.url);
    const docs = await fetch(`${t.url}/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('answers unknown routes with 404 and wrong methods with 405, as problems', async () => {
    const unknown = await fetch(`${t.url}/v1/nothing-here`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(await unknown.json()).toMatchObject({ code: 'route_not_found', status: 404 });
    const wrongMethod = await fetch(`${t.url}/v1/version`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${t.adminToken}` },
    });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET');
    expect(await wrongMethod.json()).toMatchObject({ code: 'method_not_allowed' });
  });
});

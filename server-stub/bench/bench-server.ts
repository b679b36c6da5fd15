/**
 * The server the benches measure, started as it is deployed (no response validation, the rate
 * limit out of the way of the load), with an admin signed in and a site to work on.
 */
import { Meridian } from '@meridian/sdk';
import { type RunningServer, type ServerOptions, startServer } from '../src/index';

export interface BenchServer {
  meridian: RunningServer;
  operator: Meridian;
  siteId: string;
}

export async function startBenchServer(options: Partial<ServerOptions> = {}): Promise<BenchServer> {
  const meridian = await startServer({
    database: ':memory:',
    port: 0,
    host: '127.0.0.1',
    adminUsername: 'bench',
    adminPassword: 'bench-password-123',
    passwordCost: 2 ** 10,
    validateResponses: false,
    requestsPerMinute: 10_000_000,
    ...options,
  });
  const { token } = await new Meridian({ baseUrl: meridian.url }).auth.login({
    username: 'bench',
    password: 'bench-password-123',
  });
  const operator = new Meridian({ baseUrl: meridian.url, token });
  const site = await operator.sites.create({ name: 'Bench' });
  return { meridian, operator, siteId: site.id };
}

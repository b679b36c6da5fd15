import { initServer } from '@ts-rest/express';
import { sql } from 'kysely';
import type { AppContext } from '../context';
import { contract } from '../generated/contract.gen';
import { problems } from '../http/problem';

export function metaHandlers(context: AppContext) {
  return initServer().router(contract.meta, {
    getHealth: async () => {
      await sql`select 1`.execute(context.db);
      return { status: 200, body: { status: 'ok', time: context.now().toISOString() } };
    },
    getReadiness: async () => {
      if (context.draining.aborted)
        throw problems.unavailable(
          'shutting_down',
          'This instance is shutting down and takes no new requests; send them to another instance.',
        );
      try {
        await sql`select 1`.execute(context.db);
      } catch {
        throw problems.unavailable(
          'database_unavailable',
          'This instance cannot reach its database; send requests to another instance.',
        );
      }
      return { status: 200, body: { status: 'ready' } };
    },
    getVersion: async () => ({
      status: 200,
      body: {
        version: context.version,
        api_version: 'v1',
        runtime: `node ${process.version}`,
        database: context.engine,
      },
    }),
    // ts-rest answers `text/plain; charset=utf-8`: Prometheus reads it as text format 0.0.4.
    getMetrics: async () => ({ status: 200, body: (await context.metrics.scrape()).text }),
  });
}

import { initServer } from '@ts-rest/express';
import { sql } from 'kysely';
import type { AppContext } from '../context';
import { contract } from '../generated/contract.gen';

export function metaHandlers(context: AppContext) {
  return initServer().router(contract.meta, {
    getHealth: async () => {
      await sql`select 1`.execute(context.db);
      return { status: 200, body: { status: 'ok', time: context.now().toISOString() } };
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
  });
}

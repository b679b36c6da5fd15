/**
 * The audit log on PostgreSQL with two instances of the server on one database: changes made
 * at the same time on both are appended to one chain (each append locks the chain's head), with
 * no sequence twice or missing, and the chain verifies on either instance.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSite, listAuditEvents, verifyAuditEvents, type AuditEvent } from '@meridian/sdk';
import { startPostgres, type Postgres } from './support/postgres';
import { ok, startTestServer, type TestServer } from './support/server';
import { unique } from './support/world';

let pg: Postgres;
let first: TestServer;
let second: TestServer;

beforeAll(async () => {
  pg = await startPostgres();
  first = await startTestServer({ database: pg.url });
  second = await startTestServer({ database: pg.url });
});
afterAll(async () => {
  await first?.close();
  await second?.close();
  pg?.stop();
});

describe('the audit chain on PostgreSQL', () => {
  it('keeps one intact chain while two instances record changes at the same time', async () => {
    const changes = 20;
    await Promise.all(
      [first, second].flatMap((t) =>
        Array.from({ length: changes }, async () =>
          ok(await createSite({ client: t.admin, body: { name: unique('Concurrent site') } })),
        ),
      ),
    );
    const entries: AuditEvent[] = [];
    let cursor: string | undefined;
    do {
      const page = ok(
        await listAuditEvents({ client: first.admin, query: { limit: 500, ...(cursor ? { cursor } : {}) } }),
      );
      entries.push(...page.data);
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(entries.filter((entry) => entry.operation === 'createSite')).toHaveLength(2 * changes);
    const sequences = entries.map((entry) => entry.sequence).sort((a, b) => a - b);
    expect(sequences).toEqual(sequences.map((_, i) => i + 1));

    for (const t of [first, second]) {
      expect(ok(await verifyAuditEvents({ client: t.admin }))).toMatchObject({
        intact: true,
        checked_count: entries.length,
        break: null,
      });
    }
  });
});

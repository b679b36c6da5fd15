/**
 * Opens the database: embedded SQLite (a file, or `:memory:`) by default, PostgreSQL when given
 * a `postgres://` URL. Handlers only ever see `Kysely<Database>`, so they run on either.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  Kysely,
  Migrator,
  PostgresDialect,
  SqliteDialect,
  type Migration,
  type SqliteDatabase,
} from 'kysely';
import pg from 'pg';
import * as initial from './migrations/001-initial';
import * as sealedIdempotencyReplays from './migrations/002-sealed-idempotency-replays';
import * as fleetEnrollment from './migrations/003-fleet-enrollment';
import * as commands from './migrations/004-commands';
import * as metricsInventory from './migrations/005-metrics-inventory';
import * as monitoredProcesses from './migrations/006-monitored-processes';
import * as screenshots from './migrations/007-screenshots';
import * as deviceTimezone from './migrations/008-device-timezone';
import * as idempotencyLease from './migrations/009-idempotency-lease';
import * as auditEvents from './migrations/010-audit-events';
import * as webhooks from './migrations/011-webhooks';
import * as alerts from './migrations/012-alerts';
import * as notificationChannels from './migrations/013-notification-channels';
import * as notifications from './migrations/014-notifications';
import * as processStates from './migrations/015-process-states';
import * as webhookNotificationChannels from './migrations/016-webhook-notification-channels';
import * as customFieldsViews from './migrations/017-custom-fields-views';
import * as deviceFilters from './migrations/018-device-filters';
import * as scripts from './migrations/019-scripts';
import * as jobs from './migrations/020-jobs';
import * as schedules from './migrations/021-schedules';
import * as deviceFilterIndexes from './migrations/022-device-filter-indexes';
import * as deviceListIndexes from './migrations/023-device-list-indexes';
import * as rateLimits from './migrations/024-rate-limits';
import * as backgroundTicks from './migrations/025-background-ticks';
import * as mfa from './migrations/027-mfa';
import * as roleBindings from './migrations/026-role-bindings';
import * as passkeys from './migrations/028-passkeys';
import * as agentReleases from './migrations/031-agent-releases';
import * as identityProviders from './migrations/030-identity-providers';
import * as agentLifecycle from './migrations/032-agent-lifecycle';
import * as liveState from './migrations/033-live-state';
import * as software from './migrations/033-software';
import * as deployments from './migrations/037-deployments';
import * as mfaChallengeRememberMe from './migrations/035-mfa-challenge-remember-me';
import * as softwareBlockList from './migrations/038-software-block-list';
import * as installerUploads from './migrations/040-installer-uploads';
import * as sessionsLockoutRecovery from './migrations/029-sessions-lockout-recovery';
import type { Database } from './schema';
import { cachedVersionKey } from './version-key';

export type Engine = 'sqlite' | 'postgres';

export interface OpenedDatabase {
  db: Kysely<Database>;
  engine: Engine;
  /** The connection pool under `db` on PostgreSQL (for libraries that take a pg pool). */
  pool?: pg.Pool;
}

export const migrations: Record<string, Migration> = {
  '001-initial': initial,
  '002-sealed-idempotency-replays': sealedIdempotencyReplays,
  '003-fleet-enrollment': fleetEnrollment,
  '004-commands': commands,
  '005-metrics-inventory': metricsInventory,
  '006-monitored-processes': monitoredProcesses,
  '007-screenshots': screenshots,
  '008-device-timezone': deviceTimezone,
  '009-idempotency-lease': idempotencyLease,
  '010-audit-events': auditEvents,
  '011-webhooks': webhooks,
  '012-alerts': alerts,
  '013-notification-channels': notificationChannels,
  '014-notifications': notifications,
  '015-process-states': processStates,
  '016-webhook-notification-channels': webhookNotificationChannels,
  '017-custom-fields-views': customFieldsViews,
  '018-device-filters': deviceFilters,
  '019-scripts': scripts,
  '020-jobs': jobs,
  '021-schedules': schedules,
  '022-device-filter-indexes': deviceFilterIndexes,
  '023-device-list-indexes': deviceListIndexes,
  '024-rate-limits': rateLimits,
  '025-background-ticks': backgroundTicks,
  '027-mfa': mfa,
  '026-role-bindings': roleBindings,
  '028-passkeys': passkeys,
  '031-agent-releases': agentReleases,
  '030-identity-providers': identityProviders,
  '032-agent-lifecycle': agentLifecycle,
  '033-live-state': liveState,
  '033-software': software,
  '037-deployments': deployments,
  '035-mfa-challenge-remember-me': mfaChallengeRememberMe,
  '038-software-block-list': softwareBlockList,
  '040-installer-uploads': installerUploads,
  '029-sessions-lockout-recovery': sessionsLockoutRecovery,
};

export function openDatabase(location: string): OpenedDatabase {
  if (/^postgres(ql)?:\/\//.test(location)) {
    const pool = new pg.Pool({ connectionString: location, max: 10 });
    return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), engine: 'postgres', pool };
  }
  if (location !== ':memory:') mkdirSync(dirname(location), { recursive: true });
  const sqlite = new SQLite(location);
  sqlite.pragma('journal_mode = WAL');
  // With WAL, NORMAL syncs the log at checkpoints instead of at every commit (an fsync each, ~5 ms
  // here): a commit survives the process being killed, and the database is never corrupted; only a
  // power loss or an OS crash can undo the last commits. SQLite recommends it for WAL.
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // A 64 MiB page cache (SQLite's default is 2 MiB): filters and sorted lists over a large fleet
  // read rows all over the devices table.
  sqlite.pragma('cache_size = -65536');
  sqlite.function('meridian_version_key', { deterministic: true }, (version) =>
    cachedVersionKey(version as string | null),
  );
  return {
    db: new Kysely<Database>({ dialect: new SqliteDialect({ database: keepingStatements(sqlite) }) }),
    engine: 'sqlite',
  };
}

/** How many prepared statements an SQLite connection keeps (the most recently used). */
const STATEMENTS_KEPT = 500;

/**
 * The connection as Kysely sees it, with its prepared statements kept by SQL text: Kysely prepares
 * every query it runs, and preparing (parsing and planning the SQL) costs more than running most
 * of them. Safe on the one connection, where queries run one at a time.
 */
function keepingStatements(sqlite: SQLite.Database): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare: (sql) => {
      const statement = statements.get(sql) ?? sqlite.prepare(sql);
      // Map order is the order of use: the first entry is the least recently used.
      statements.delete(sql);
      statements.set(sql, statement);
      if (statements.size > STATEMENTS_KEPT) statements.delete(statements.keys().next().value!);
      return statement;
    },
  };
}

export async function migrateToLatest(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error;
}

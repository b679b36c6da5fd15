/**
 * The database as Kysely sees it. Timestamps are RFC 3339 strings and booleans are 0/1
 * integers in both engines, so rows mean the same thing on SQLite and PostgreSQL and sort the
 * same way; lists (tags, scopes) are JSON text.
 */
import type { Generated, Selectable } from 'kysely';

export interface UsersTable {
  id: string;
  username: string;
  display_name: string;
  email: string | null;
  role: 'admin' | 'operator' | 'viewer';
  disabled: number;
  password_hash: string;
  version: Generated<number>;
  created_at: string;
  updated_at: string;
  last_login_at: string | null;
}

export interface UserSitesTable {
  user_id: string;
  site_id: string;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  token_hash: string;
  csrf_token: string;
  created_at: string;
  expires_at: string;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  token_hash: string;
  scopes: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface SitesTable {
  id: string;
  name: string;
  name_key: string;
  description: string;
  version: Generated<number>;
  created_at: string;
  updated_at: string;
}

export interface DevicesTable {
  id: string;
  site_id: string;
  name: string;
  description: string;
  platform: 'windows' | 'macos' | 'linux' | 'other';
  status: 'pending' | 'online' | 'offline' | 'degraded';
  hostname: string | null;
  tags: string;
  agent_version: string | null;
  last_seen_at: string | null;
  registration_token_hash: string | null;
  registration_expires_at: string | null;
  version: Generated<number>;
  created_at: string;
  updated_at: string;
}

export interface IdempotencyKeysTable {
  owner: string;
  /** A digest of the Idempotency-Key (http/replay-seal.ts); the key itself is not stored. */
  key_digest: string;
  request_hash: string;
  status: number | null;
  content_type: string | null;
  /** The response body, sealed with a key derived from the Idempotency-Key. */
  response_body: string | null;
  /** JSON of the replayed resource headers (ETag, Location), sealed like the body. */
  response_headers: string | null;
  created_at: string;
}

export interface Database {
  users: UsersTable;
  user_sites: UserSitesTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  sites: SitesTable;
  devices: DevicesTable;
  idempotency_keys: IdempotencyKeysTable;
}

export type UserRow = Selectable<UsersTable>;
export type SiteRow = Selectable<SitesTable>;
export type DeviceRow = Selectable<DevicesTable>;
export type ApiTokenRow = Selectable<ApiTokensTable>;

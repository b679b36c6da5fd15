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
  /** When MFA was turned on (a TOTP secret confirmed), or null while it is off. */
  mfa_enabled_at: Generated<string | null>;
  /** Until when sign-ins are refused after too many failures (auth/lockout.ts); null when never locked. */
  locked_until: Generated<string | null>;
  /** Where the account comes from (migration 030): a local password, or the provider that created it. */
  source: Generated<'local' | 'oidc' | 'ldap'>;
  identity_provider_id: Generated<string | null>;
  /** The user's ID at that provider: the OIDC `sub`, or the LDAP entry's DN. */
  external_id: Generated<string | null>;
}

/** A named set of scopes (migration 026); the built-in roles' scopes are in access/roles.ts. */
export interface RolesTable {
  id: string;
  name: string;
  description: string;
  /** JSON array of scopes ('[]' for the built-in roles). */
  scopes: string;
  require_mfa: number;
  built_in: number;
  version: Generated<number>;
  created_at: string;
  updated_at: string;
}

/** A role a user holds, on every site or on the sites of role_binding_sites. */
export interface RoleBindingsTable {
  user_id: string;
  role_id: string;
  all_sites: number;
}

export interface RoleBindingSitesTable {
  user_id: string;
  role_id: string;
  site_id: string;
}

/** A user's passkey (WebAuthn credential), migration 028. */
export interface PasskeysTable {
  id: string;
  user_id: string;
  /** base64url, as WebAuthn's JSON forms carry it. */
  credential_id: string;
  /** The COSE public key, base64url. */
  public_key: string;
  /** The signature counter last seen (bigint: PostgreSQL hands it back as a string). */
  counter: number | string;
  /** JSON array of transports. */
  transports: string;
  device_type: 'single_device' | 'multi_device';
  backed_up: number;
  name: string;
  created_at: string;
  last_used_at: string | null;
}

/** A challenge handed out by a passkey options operation, good once until it expires. */
export interface PasskeyChallengesTable {
  challenge: string;
  ceremony: 'registration' | 'authentication';
  /** The user registering; null for a sign-in, which names nobody. */
  user_id: string | null;
  expires_at: string;
}

/** A user's TOTP secret, sealed; confirmed once users.mfa_enabled_at is set. */
export interface MfaTotpTable {
  user_id: string;
  secret: string;
  created_at: string;
  /** The time step of the last code accepted: only later steps' codes are accepted (no replay). */
  last_used_step: number | null;
}

export interface MfaRecoveryCodesTable {
  id: string;
  user_id: string;
  code_hash: string;
  created_at: string;
  used_at: string | null;
}

/** A sign-in whose password was right, waiting for its second factor. */
export interface MfaChallengesTable {
  id: string;
  user_id: string;
  token_hash: string;
  /** How the user signed in before the second factor (auth/sign-in.ts SignInMethod). */
  method: string;
  /** The sign-in asked for `remember_me` (1), which the session completing it gets. */
  remember_me: Generated<number>;
  failed_attempts: Generated<number>;
  created_at: string;
  expires_at: string;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  token_hash: string;
  csrf_token: string;
  created_at: string;
  expires_at: string;
  /** Written at most once a minute (http/authenticate.ts); null until the first use after sign-in. */
  last_used_at: Generated<string | null>;
  ip_address: Generated<string | null>;
  user_agent: Generated<string | null>;
  /** 1 for a `remember_me` sign-in: a long absolute lifetime and no idle timeout. */
  remember_me: Generated<number>;
}
/** Failed sign-ins per username, known or not (auth/lockout.ts). */
export interface LoginFailuresTable {
  username_hash: string;
  failures: number;
  window_started_at: string;
  locked_until: string | null;
}
export interface PasswordResetTokensTable {
  id: string;
  user_id: string;
  token_hash: string;
  created_by: string | null;
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
  auto_approve_until: string | null;
  /** The agent release channel its devices follow unless they have their own (null: stable). */
  channel: string | null;
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
  /** An ID of the device type catalogue (fleet/device-type-catalogue.ts). */
  device_type: string;
  status: 'pending' | 'online' | 'offline' | 'degraded';
  hostname: string | null;
  tags: string;
  agent_version: string | null;
  last_seen_at: string | null;
  registration_token_hash: string | null;
  registration_expires_at: string | null;
  /** The agent's machine fingerprint, once an agent has enrolled as this device. */
  fingerprint: string | null;
  os_name: string | null;
  os_version: string | null;
  /** IANA time zone name, as the agent reports it. */
  timezone: string | null;
  /** JSON array of IP addresses. */
  addresses: string;
  /** bigint: PostgreSQL hands it back as a string. */
  uptime_seconds: number | string | null;
  /** JSON DeviceMetrics, or null. */
  metrics: string | null;
  enrolled_at: string | null;
  credentials_revoked_at: string | null;
  /** The agent release channel it follows (null: its site's). */
  channel: string | null;
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
  /** Until when the request that claimed the key may still be running it (its lease). */
  locked_until: string;
}

export interface EnrollmentCodesTable {
  id: string;
  site_id: string;
  label: string;
  code_hash: string;
  code_prefix: string;
  auto_approve: number;
  expires_at: string;
  max_uses: number | null;
  use_count: number;
  created_by: string | null;
  created_at: string;
  revoked_at: string | null;
}

export type EnrollmentRequestStatus =
  | 'pending'
  | 'approved'
  | 'completed'
  | 'denied'
  | 'expired'
  | 'wrong_code';

export interface EnrollmentRequestsTable {
  id: string;
  status: EnrollmentRequestStatus;
  site_id: string | null;
  code_id: string | null;
  fingerprint: string;
  /** JSON AgentFacts. */
  facts: string;
  device_id: string | null;
  /** Cleared once the request is final, so the poll token stops working. */
  poll_token_hash: string | null;
  source_ip: string;
  created_at: string;
  expires_at: string;
  decided_at: string | null;
  decided_by: string | null;
  deny_reason: string | null;
}

export type RolloutStatus = 'running' | 'paused' | 'completed' | 'cancelled';
export type RolloutDeviceState = 'pending' | 'updating' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

export interface RolloutsTable {
  id: string;
  name: string;
  release_id: string;
  version: string;
  channel: string;
  status: RolloutStatus;
  pause_reason: 'operator' | 'failure_threshold' | null;
  batch_size: number;
  batch_count: number;
  current_batch: number;
  failure_threshold: number;
  failures_forgiven: number;
  batch_interval_seconds: number;
  device_timeout_seconds: number;
  next_batch_at: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

export interface RolloutDevicesTable {
  rollout_id: string;
  device_id: string;
  batch: number;
  state: RolloutDeviceState;
  from_version: string | null;
  error: string | null;
  started_at: string | null;
  /** An updating device that has not reported by then counts as failed. */
  deadline_at: string | null;
  finished_at: string | null;
}

export interface AgentTokensTable {
  id: string;
  device_id: string;
  kind: 'access' | 'refresh';
  token_hash: string;
  created_at: string;
  expires_at: string;
  /** Refresh tokens: when it was traded for new tokens (a second use is theft). */
  used_at: string | null;
  revoked_at: string | null;
  /** Access tokens: when one last authenticated a call (marked at most every few minutes). */
  last_used_at: string | null;
}

export type CommandStatus =
  | 'pending'
  | 'delivered'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'cancelled'
  | 'expired';

export interface CommandsTable {
  id: string;
  device_id: string;
  type: string;
  /** JSON object. */
  params: string;
  status: CommandStatus;
  timeout_seconds: number;
  created_by: string | null;
  created_at: string;
  delivered_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  expires_at: string;
  progress_percent: number | null;
  progress_message: string | null;
  /** The stage an install or uninstall is at, as its agent reported it. */
  progress_stage: 'downloading' | 'installing' | 'uninstalling' | null;
  /** JSON CommandResult once finished by the agent. */
  result: string | null;
  /** The job this command is one target of (null for a command sent on its own). */
  job_id: string | null;
}

export type JobState = 'running' | 'succeeded' | 'failed' | 'partially_failed' | 'cancelled';
export type JobKind = 'command' | 'script' | 'inline_script';

export interface JobsTable {
  id: string;
  name: string;
  kind: JobKind;
  /** The command type every target runs (`run_script` for scripts). */
  command_type: string;
  /** JSON object: the params every target's command gets. */
  params: string;
  script_id: string | null;
  script_version: number | null;
  /** JSON JobTarget as given (device IDs, site IDs or a filter). */
  target: string;
  filter_id: string | null;
  timeout_seconds: number;
  state: JobState;
  /** 1, then one more per retry. */
  attempt: number;
  schedule_id: string | null;
  created_by: string | null;
  created_at: string;
  finished_at: string | null;
  cancelled_at: string | null;
}

export interface JobTargetsTable {
  job_id: string;
  device_id: string;
  /** The target's latest command; null when the device cannot run the job. */
  command_id: string | null;
  unsupported_reason: string | null;
  attempts: number;
}

export type EventSeverity = 'info' | 'warning' | 'error' | 'critical';

export interface EventsTable {
  id: string;
  type: string;
  severity: EventSeverity;
  source: 'system' | 'agent';
  site_id: string | null;
  device_id: string | null;
  message: string;
  /** JSON object with details that depend on the type. */
  data: string;
  created_at: string;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
}

export interface DeviceMetricsTable {
  device_id: string;
  recorded_at: string;
  cpu_percent: number;
  memory_percent: number;
  disk_percent: number;
}

export interface DeviceInventoriesTable {
  device_id: string;
  reported_at: string;
  /** JSON Hardware. */
  hardware: string;
  /** JSON array of InstalledSoftware. */
  software: string;
  /** JSON array of SystemService. */
  services: string;
}

export interface MonitoredProcessesTable {
  id: string;
  device_id: string;
  name: string;
  /** The name in lower case: names are unique on a device, ignoring case. */
  name_key: string;
  executable_path: string;
  /** JSON array of strings. */
  arguments: string;
  working_directory: string | null;
  launch_mode: 'off' | 'always' | 'scheduled';
  /** JSON array of ProcessSchedule. */
  schedules: string;
  restart_delay_seconds: number;
  version: Generated<number>;
  created_at: string;
  updated_at: string;
}

export type ProcessState = 'running' | 'starting' | 'stopped' | 'crashed' | 'idle';

/** The latest state an agent reported of a monitored process. */
export interface ProcessStatesTable {
  process_id: string;
  device_id: string;
  state: ProcessState;
  pid: number | null;
  restart_count: number | null;
  /** When the process last changed between running, down (starting/stopped/crashed) and idle. */
  state_changed_at: string;
  reported_at: string;
  /** How the process last ended, as its agent last reported it (all null until it reports one). */
  last_exit_code: number | null;
  last_exit_signal: string | null;
  last_exit_at: string | null;
}

export interface InstallersTable {
  id: string;
  name: string;
  /** The name lower-cased: one installer per name, version and platform. */
  name_key: string;
  version: string;
  platform: DevicesTable['platform'];
  /** For an upload, this server's agent download URL. */
  url: string;
  sha256: string;
  /** `url`: agents download from `url` elsewhere; `upload`: the file is uploaded to Meridian. */
  source: 'url' | 'upload';
  /** The uploaded file's size, once it is stored (bigint: a string on PostgreSQL). */
  size_bytes: string | number | null;
  /** JSON arrays of strings. */
  install_arguments: string;
  uninstall_arguments: string;
  /** JSON: `{ name, version? }`. */
  detection: string;
  created_by: string | null;
  created_at: string;
}

export interface SoftwareBlockEntriesTable {
  id: string;
  /** A glob (`*`, `?`) matched against the software's name, ignoring case. */
  name_pattern: string;
  publisher: string | null;
  version: string | null;
  reason: string;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface SoftwareBlockOverridesTable {
  id: string;
  device_id: string;
  /** `exempt` names `block_entry_id`; `block` has its own `name_pattern` (and publisher, version). */
  effect: 'exempt' | 'block';
  block_entry_id: string | null;
  name_pattern: string | null;
  publisher: string | null;
  version: string | null;
  reason: string;
  created_by: string | null;
  created_at: string;
}

export interface DeploymentsTable {
  id: string;
  /** The job that runs it (its state, targets and commands). */
  job_id: string;
  installer_id: string;
  software_name: string;
  software_version: string;
  platform: DevicesTable['platform'];
  action: 'install' | 'uninstall';
}

export interface DeviceScreenshotsTable {
  id: string;
  device_id: string;
  captured_at: string;
  size_bytes: number;
  width: number;
  height: number;
  jpeg_base64: string;
}

export type AlertRuleKind = 'device_offline' | 'metric_threshold' | 'process_down' | 'event_match';
export type AlertMetric = 'cpu_percent' | 'memory_percent' | 'disk_percent';

export interface AlertRulesTable {
  id: string;
  name: string;
  description: string;
  kind: AlertRuleKind;
  severity: EventSeverity;
  enabled: number;
  duration_minutes: number;
  /** JSON AlertRuleScope. */
  scope: string;
  /** JSON array of device IDs. */
  excluded_device_ids: string;
  metric: AlertMetric | null;
  threshold_percent: number | null;
  /** JSON array of ThresholdOverride. */
  threshold_overrides: string;
  event_type: string | null;
  event_severity: EventSeverity | null;
  event_text: string | null;
  /** `process_down`: the name of the monitored processes it watches (matched ignoring case). */
  process_name: string | null;
  /** `process_down`: the one monitored process. */
  process_id: string | null;
  /** JSON array of notification channel IDs. */
  channel_ids: string;
  version: Generated<number>;
  created_at: string;
  updated_at: string;
}

export type IncidentState = 'open' | 'acknowledged' | 'resolved';

export interface IncidentsTable {
  id: string;
  /** The rule that opened it (kept after the rule is deleted, with its name). */
  rule_id: string;
  rule_name: string;
  device_id: string;
  site_id: string;
  severity: EventSeverity;
  state: IncidentState;
  summary: string;
  opened_at: string;
  reopen_count: Generated<number>;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  resolved_at: string | null;
  /** The user who resolved it; null when it resolved itself. */
  resolved_by: string | null;
  updated_at: string;
}

export type IncidentTimelineKind =
  | 'opened'
  | 'acknowledged'
  | 'unacknowledged'
  | 'note'
  | 'reopened'
  | 'resolved';

export interface IncidentTimelineTable {
  id: string;
  incident_id: string;
  kind: IncidentTimelineKind;
  at: string;
  /** The user who did it; null for Meridian itself. */
  actor_id: string | null;
  note: string | null;
}

export interface WebhooksTable {
  id: string;
  url: string;
  description: string;
  /** JSON array of event types, or null for every event. */
  event_types: string | null;
  site_id: string | null;
  enabled: number;
  /** The signing secret, sealed under the server's webhook secrets key (integrate/webhook-secrets.ts). */
  secret: string;
  /** The secret before the last rotation, sealed too; it signs beside the new one until it expires. */
  previous_secret: string | null;
  previous_secret_expires_at: string | null;
  version: Generated<number>;
  created_at: string;
  updated_at: string;
}

export interface AuditEventsTable {
  id: string;
  /** The place in the chain, from 1 (bigint: read it through Number()). */
  sequence: number | string;
  occurred_at: string;
  user_id: string;
  api_token_id: string | null;
  auth_method: 'session' | 'api_token';
  operation: string;
  method: string;
  path: string;
  resource_type: string;
  resource: string | null;
  /** JSON object: the request's fields, secrets redacted. */
  changes: string;
  status: number;
  request_id: string;
  client_address: string | null;
  user_agent: string | null;
  previous_hash: string;
  hash: string;
  hmac: string;
}

/** The head of the audit chain: one row (id 1), locked by every append. */
export interface AuditChainTable {
  id: number;
  sequence: number | string;
  hash: string;
}

export type WebhookDeliveryState = 'pending' | 'delivered' | 'failed';

/** The outbox: one event on its way to one endpoint. */
export interface WebhookDeliveriesTable {
  /** Also the `webhook-id` header of every attempt. */
  id: string;
  webhook_id: string;
  /** Null for a test event. */
  event_id: string | null;
  event_type: string;
  /** The JSON body, fixed when the delivery is written, so every attempt sends the same bytes. */
  payload: string;
  state: WebhookDeliveryState;
  attempt_count: number;
  /** The delivery fails once attempt_count reaches this (a manual retry allows one more). */
  attempts_allowed: number;
  next_attempt_at: string | null;
  /** While an instance is sending an attempt, until when it holds the delivery. */
  lease_until: string | null;
  created_at: string;
}

export interface WebhookAttemptsTable {
  id: string;
  delivery_id: string;
  attempted_at: string;
  status_code: number | null;
  latency_ms: number;
  response_body: string;
  error: string | null;
}

export interface IdentityProvidersTable {
  id: string;
  name: string;
  kind: 'oidc' | 'ldap';
  enabled: number;
  /** JSON: the kind's settings without the secret (OidcSettings or LdapSettings of the API). */
  settings: string;
  /** The OIDC client secret or the LDAP bind password, sealed under the webhook secrets key; null for none. */
  secret: string | null;
  /** JSON array of e-mail domains (empty: any). */
  allowed_domains: string;
  /** JSON array of `{ match, role }`. */
  role_mappings: string;
  default_role: string | null;
  version: Generated<number>;
  created_at: string;
  updated_at: string;
}

export interface NotificationChannelsTable {
  id: string;
  name: string;
  kind: 'email' | 'webhook';
  /** JSON: the SMTP settings without the credentials (host, port, tls, username, from, to); `{}` for a webhook channel. */
  settings: string;
  /** JSON `{ username, password }` sealed under the webhook secrets key, or null (no authentication). */
  credentials: string | null;
  /** The webhook endpoint a `webhook` channel delivers through (null for e-mail). */
  webhook_id: string | null;
  enabled: number;
  version: Generated<number>;
  created_at: string;
  updated_at: string;
}

export type NotificationState = 'pending' | 'sent' | 'failed';

export interface NotificationsTable {
  id: string;
  channel_id: string;
  event_id: string;
  event_type: string;
  incident_id: string;
  /** The webhook delivery carrying it (webhook channels), whose outcome is the notification's. */
  webhook_delivery_id: string | null;
  subject: string;
  body: string;
  state: NotificationState;
  attempt_count: number;
  last_error: string | null;
  next_attempt_at: string | null;
  lease_until: string | null;
  sent_at: string | null;
  created_at: string;
}

export type CustomFieldType = 'string' | 'number' | 'boolean' | 'date' | 'enum' | 'url';

/** A custom field definition. Its default, if any, sits in the column of its type (see below). */
export interface CustomFieldsTable {
  id: string;
  /** snake_case, unique, never changes. */
  key: string;
  label: string;
  description: string;
  type: CustomFieldType;
  /** JSON array of the allowed values of an enum field; null for the other types. */
  options: string | null;
  /** Who may set values: agents (in heartbeats and inventory reports) and operators, or operators only. */
  writer: 'agent' | 'operator';
  default_text: string | null;
  default_number: number | null;
  default_boolean: number | null;
  version: Generated<number>;
  created_at: string;
  updated_at: string;
}

/**
 * One device's value of one custom field, in the column of the field's type so SQL compares it as
 * that type: value_text (string, enum, url, date `YYYY-MM-DD`), value_number (number), value_boolean
 * (0/1); the other two are null. A device without a row has the field's default (COALESCE with
 * custom_fields.default_*). Deleting the device or the definition deletes the row.
 */
export interface DeviceCustomFieldValuesTable {
  device_id: string;
  field_id: string;
  value_text: string | null;
  value_number: number | null;
  value_boolean: number | null;
  set_by: 'agent' | 'operator';
  updated_at: string;
}

/** A saved device-list view: a filter (saved or inline), a sort and the columns shown. */
export interface DeviceViewsTable {
  id: string;
  owner_id: string;
  name: string;
  description: string;
  /** private: only its owner sees it; shared: everyone with filters:read. */
  visibility: 'private' | 'shared';
  /** A saved device filter's ID, or null. */
  filter_id: string | null;
  /** JSON of an inline filter expression, or null. */
  filter: string | null;
  /** The device list's `sort` value, or null (the list's default order). */
  sort: string | null;
  /** JSON array of column names. */
  columns: string;
  version: Generated<number>;
  created_at: string;
  updated_at: string;
}

/** A saved device filter (fleet/device-filter-sql.ts compiles its expression). */
export interface DeviceFiltersTable {
  id: string;
  name: string;
  description: string;
  /** JSON of the DeviceFilterExpression. */
  expression: string;
  /** The user who created it. */
  created_by: string;
  /** When it was archived (hidden from the default list, refused for new jobs), or null. */
  archived_at: string | null;
  version: Generated<number>;
  created_at: string;
  updated_at: string;
}

export type ScriptLanguage = 'sh' | 'bash' | 'powershell' | 'python';

/** What a script and each of its versions hold. */
export interface ScriptContent {
  name: string;
  description: string;
  language: ScriptLanguage;
  /** JSON array of platforms (`linux`, `macos`, `windows`). */
  platforms: string;
  body: string;
  /** JSON Schema (an object) of the script's parameters, as JSON. */
  parameters: string;
  timeout_seconds: number;
  run_as: 'system' | 'user';
}

export interface ScriptsTable extends ScriptContent {
  id: string;
  version: Generated<number>;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface ScriptVersionsTable extends ScriptContent {
  id: string;
  script_id: string;
  version: number;
  changed_by: string;
  created_at: string;
}

export type ScheduleTriggerKind = 'cron' | 'interval' | 'once';
export type ScheduleRunCause = 'scheduled' | 'missed' | 'run_now';

export interface SchedulesTable {
  id: string;
  name: string;
  description: string;
  enabled: number;
  trigger_kind: ScheduleTriggerKind;
  cron: string | null;
  time_zone: string | null;
  interval_seconds: number | null;
  /** An interval schedule runs at anchor_at + k × interval_seconds. */
  anchor_at: string | null;
  run_at: string | null;
  missed_runs: 'skip' | 'run_once';
  /** JSON JobCreate: what each run starts. */
  job: string;
  /** The saved device filter the job targets, if it does. */
  filter_id: string | null;
  /** 1: the schedule may act on every site (an admin's, on a target not bound to sites). */
  all_sites: number;
  next_run_at: string | null;
  last_run_job_id: string | null;
  last_run_cause: ScheduleRunCause | null;
  last_run_scheduled_for: string | null;
  last_run_at: string | null;
  last_skipped_at: string | null;
  last_error: string | null;
  created_by: string | null;
  version: Generated<number>;
  created_at: string;
  updated_at: string;
}

export interface ScheduleSitesTable {
  schedule_id: string;
  site_id: string;
}

/** When each kind of periodic work is next due (runtime/ticks.ts). */
export interface BackgroundTicksTable {
  work: string;
  next_run_at: string;
}

/** Agent releases (lifecycle/agent-releases-*.ts). */
export interface AgentReleasesTable {
  id: string;
  version: string;
  channel: string;
  notes: string;
  created_by: string;
  created_at: string;
  updated_at: string;
}

/** One platform's build of a release: a file in the blob store, or a URL (both with their SHA-256). */
export interface AgentReleaseArtifactsTable {
  id: string;
  release_id: string;
  platform: string;
  file_name: string;
  sha256: string;
  /** A bigint: PostgreSQL answers it as a string. */
  size_bytes: string | number | null;
  source: 'upload' | 'url';
  url: string | null;
  created_at: string;
}

export interface Database {
  users: UsersTable;
  identity_providers: IdentityProvidersTable;
  roles: RolesTable;
  role_bindings: RoleBindingsTable;
  role_binding_sites: RoleBindingSitesTable;
  sessions: SessionsTable;
  mfa_totp: MfaTotpTable;
  mfa_recovery_codes: MfaRecoveryCodesTable;
  mfa_challenges: MfaChallengesTable;
  login_failures: LoginFailuresTable;
  password_reset_tokens: PasswordResetTokensTable;
  passkeys: PasskeysTable;
  passkey_challenges: PasskeyChallengesTable;
  api_tokens: ApiTokensTable;
  sites: SitesTable;
  devices: DevicesTable;
  device_filters: DeviceFiltersTable;
  idempotency_keys: IdempotencyKeysTable;
  enrollment_codes: EnrollmentCodesTable;
  enrollment_requests: EnrollmentRequestsTable;
  agent_tokens: AgentTokensTable;
  rollouts: RolloutsTable;
  rollout_devices: RolloutDevicesTable;
  events: EventsTable;
  commands: CommandsTable;
  jobs: JobsTable;
  job_targets: JobTargetsTable;
  device_metrics: DeviceMetricsTable;
  device_inventories: DeviceInventoriesTable;
  monitored_processes: MonitoredProcessesTable;
  process_states: ProcessStatesTable;
  installers: InstallersTable;
  deployments: DeploymentsTable;
  software_block_entries: SoftwareBlockEntriesTable;
  software_block_overrides: SoftwareBlockOverridesTable;
  device_screenshots: DeviceScreenshotsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  audit_events: AuditEventsTable;
  audit_chain: AuditChainTable;
  alert_rules: AlertRulesTable;
  incidents: IncidentsTable;
  incident_timeline: IncidentTimelineTable;
  notification_channels: NotificationChannelsTable;
  notifications: NotificationsTable;
  scripts: ScriptsTable;
  script_versions: ScriptVersionsTable;
  custom_fields: CustomFieldsTable;
  device_custom_field_values: DeviceCustomFieldValuesTable;
  device_views: DeviceViewsTable;
  schedules: SchedulesTable;
  schedule_sites: ScheduleSitesTable;
  background_ticks: BackgroundTicksTable;
  agent_releases: AgentReleasesTable;
  agent_release_artifacts: AgentReleaseArtifactsTable;
}

export type UserRow = Selectable<UsersTable>;
export type SessionRow = Selectable<SessionsTable>;
export type PasskeyRow = Selectable<PasskeysTable>;
export type IdentityProviderRow = Selectable<IdentityProvidersTable>;
export type RoleRow = Selectable<RolesTable>;
export type ScheduleRow = Selectable<SchedulesTable>;
export type NotificationChannelRow = Selectable<NotificationChannelsTable>;
export type NotificationRow = Selectable<NotificationsTable>;
export type ScriptRow = Selectable<ScriptsTable>;
export type ScriptVersionRow = Selectable<ScriptVersionsTable>;
export type SiteRow = Selectable<SitesTable>;
export type DeviceRow = Selectable<DevicesTable>;
export type DeviceFilterRow = Selectable<DeviceFiltersTable>;
export type ApiTokenRow = Selectable<ApiTokensTable>;
export type EnrollmentCodeRow = Selectable<EnrollmentCodesTable>;
export type EnrollmentRequestRow = Selectable<EnrollmentRequestsTable>;
export type AgentTokenRow = Selectable<AgentTokensTable>;
export type RolloutRow = Selectable<RolloutsTable>;
export type RolloutDeviceRow = Selectable<RolloutDevicesTable>;
export type EventRow = Selectable<EventsTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;
export type CommandRow = Selectable<CommandsTable>;
export type JobRow = Selectable<JobsTable>;
export type JobTargetRow = Selectable<JobTargetsTable>;
export type MonitoredProcessRow = Selectable<MonitoredProcessesTable>;
export type WebhookRow = Selectable<WebhooksTable>;
export type WebhookDeliveryRow = Selectable<WebhookDeliveriesTable>;
export type WebhookAttemptRow = Selectable<WebhookAttemptsTable>;
export type AlertRuleRow = Selectable<AlertRulesTable>;
export type IncidentRow = Selectable<IncidentsTable>;
export type CustomFieldRow = Selectable<CustomFieldsTable>;
export type DeviceCustomFieldValueRow = Selectable<DeviceCustomFieldValuesTable>;
export type DeviceViewRow = Selectable<DeviceViewsTable>;

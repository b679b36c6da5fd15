/**
 * One valid SDK call per operation of the spec, given a populated world. The auth-matrix and
 * bad-input tests take these valid calls and break one thing at a time (the credentials, the
 * body, a parameter), so every operation is exercised the same way through the real SDK.
 */
import * as sdk from '@meridian/sdk';
import type { Client } from '@meridian/sdk';
import { ADMIN, type TestServer } from './server';
import { facts, jpegBody, newFingerprint } from './agents';
import { newVersion } from './releases';
import { unique, type World } from './world';

export interface CallOptions {
  path?: Record<string, string>;
  query?: Record<string, unknown>;
  body?: unknown;
  headers?: Record<string, string>;
  /** `null` sends the body as it is (binary bodies such as images). */
  bodySerializer?: ((body: unknown) => string) | null;
}

export interface SdkResult {
  data?: unknown;
  error?: unknown;
  response: Response;
}

type OperationFunction = (options: CallOptions & { client: Client }) => Promise<SdkResult>;

/**
 * Well-formed passkey ceremony answers (WebAuthn's JSON forms) that no challenge was issued for:
 * valid requests as far as the schema goes, refused by the server's checks.
 */
const PASSKEY_REGISTRATION = {
  id: 'cO3q3sjD3c0txTFK2uIOxd-QDCxAJw2IHw2dD7r2d6U',
  rawId: 'cO3q3sjD3c0txTFK2uIOxd-QDCxAJw2IHw2dD7r2d6U',
  response: { clientDataJSON: 'eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIn0', attestationObject: 'o2NmbXRkbm9uZQ' },
  clientExtensionResults: {},
  type: 'public-key',
} as const;
const PASSKEY_AUTHENTICATION = {
  id: 'cO3q3sjD3c0txTFK2uIOxd-QDCxAJw2IHw2dD7r2d6U',
  rawId: 'cO3q3sjD3c0txTFK2uIOxd-QDCxAJw2IHw2dD7r2d6U',
  response: {
    clientDataJSON: 'eyJ0eXBlIjoid2ViYXV0aG4uZ2V0In0',
    authenticatorData: 'SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ',
    signature: 'MEUCIQDKa8xjPQ2QsLf2Ea6ZyB0o',
  },
  clientExtensionResults: {},
  type: 'public-key',
} as const;

/** A valid request for each operation. Extra world state (token IDs) is passed in. */
export type ValidCall = (world: World) => CallOptions;

export const validCalls: Record<string, ValidCall> = {
  getHealth: () => ({}),
  getReadiness: () => ({}),
  getVersion: () => ({}),
  getMetrics: () => ({}),
  login: () => ({ body: { username: ADMIN.username, password: ADMIN.password } }),
  logout: () => ({}),
  getCurrentUser: () => ({}),
  changePassword: () => ({
    body: { current_password: 'a-long-enough-password', new_password: 'another-long-password' },
  }),
  listUsers: () => ({ query: { limit: 10 } }),
  createUser: () => ({
    body: { username: unique('new-user'), password: 'a-long-enough-password', role: 'viewer' },
  }),
  getUser: (w) => ({ path: { user_id: w.viewer.user.id } }),
  updateUser: (w) => ({ path: { user_id: w.viewer.user.id }, body: { display_name: 'Renamed' } }),
  deleteUser: (w) => ({ path: { user_id: w.viewer.user.id } }),
  resetUserPassword: (w) => ({ path: { user_id: w.viewer.user.id }, body: {} }),
  resetUserMfa: (w) => ({ path: { user_id: w.viewer.user.id } }),
  listSessions: () => ({ query: { limit: 10 } }),
  revokeSession: () => ({ path: { session_id: 'ses_01JD5C2M8Q4R6T8V0X2Z4B6D8F' } }),
  revokeOtherSessions: () => ({}),
  resetPasswordWithToken: () => ({
    body: { token: 'mpr_not-a-token-anyone-was-given', new_password: 'a-long-enough-password' },
  }),
  revokeUserSessions: (w) => ({ path: { user_id: w.viewer.user.id } }),
  unlockUser: (w) => ({ path: { user_id: w.viewer.user.id } }),
  // A different body each time (the idempotency test reuses a key with another body).
  createPasswordResetToken: (w) => ({
    path: { user_id: w.viewer.user.id },
    body: { expires_in_minutes: 5 + (Number(unique('minutes').split('-').pop()) % 10_000) },
  }),
  listRoles: () => ({ query: { limit: 10 } }),
  createRole: () => ({ body: { name: unique('role'), scopes: ['devices:read', 'sites:read'] } }),
  getRole: (w) => ({ path: { role_id: w.roleId } }),
  updateRole: (w) => ({ path: { role_id: w.roleId }, body: { description: 'Reads devices.' } }),
  deleteRole: (w) => ({ path: { role_id: w.roleId } }),
  createPasskeyRegistrationOptions: () => ({}),
  verifyPasskeyRegistration: () => ({ body: { name: 'Laptop', credential: PASSKEY_REGISTRATION } }),
  createPasskeyAuthenticationOptions: () => ({}),
  verifyPasskeyAuthentication: () => ({ body: { credential: PASSKEY_AUTHENTICATION } }),
  listPasskeys: () => ({ query: { limit: 10 } }),
  updatePasskey: (w) => ({ path: { passkey_id: w.passkeyId }, body: { name: 'Renamed' } }),
  deletePasskey: (w) => ({ path: { passkey_id: w.passkeyId } }),
  setupTotp: () => ({}),
  confirmTotp: () => ({ body: { code: '123456' } }),
  disableTotp: () => ({ body: { password: 'a-long-enough-password' } }),
  regenerateRecoveryCodes: () => ({ body: { password: 'a-long-enough-password' } }),
  verifyMfa: () => ({ body: { challenge_token: `mmc_${'x'.repeat(43)}`, code: '123456' } }),
  listApiTokens: () => ({ query: { limit: 10 } }),
  createApiToken: () => ({ body: { name: unique('token'), scopes: ['tokens:read'] } }),
  getApiToken: (w) => ({ path: { token_id: w.viewerTokenId } }),
  revokeApiToken: (w) => ({ path: { token_id: w.viewerTokenId } }),
  listSites: () => ({ query: { limit: 10 } }),
  createSite: () => ({ body: { name: unique('Site') } }),
  getSite: (w) => ({ path: { site_id: w.siteA.id } }),
  updateSite: (w) => ({ path: { site_id: w.siteA.id }, body: { description: 'Changed' } }),
  deleteSite: (w) => ({ path: { site_id: w.siteA.id } }),
  listDevices: (w) => ({ query: { limit: 10, sort: '-last_seen_at', filter_id: w.filterId } }),
  listDeviceFilters: () => ({ query: { limit: 10, archived: false, q: 'world' } }),
  createDeviceFilter: (w) => ({
    body: {
      name: unique('Kiosks'),
      description: 'Kiosks of site A',
      expression: {
        and: [
          { field: 'site_id', op: 'eq', value: w.siteA.id },
          { field: 'tags', op: 'has', value: 'kiosk' },
        ],
      },
    },
  }),
  previewDeviceFilter: (w) => ({ body: { filter_id: w.filterId, limit: 10 } }),
  getDeviceFilter: (w) => ({ path: { filter_id: w.filterId } }),
  updateDeviceFilter: (w) => ({ path: { filter_id: w.filterId }, body: { description: 'Changed' } }),
  deleteDeviceFilter: (w) => ({ path: { filter_id: w.filterId } }),
  getDeviceFilterUsage: (w) => ({ path: { filter_id: w.filterId } }),
  cloneDeviceFilter: (w) => ({ path: { filter_id: w.filterId }, body: { name: unique('Copy') } }),
  archiveDeviceFilter: (w) => ({ path: { filter_id: w.filterId } }),
  unarchiveDeviceFilter: (w) => ({ path: { filter_id: w.filterId } }),
  registerDevice: (w) => ({ body: { name: unique('device'), site_id: w.siteA.id, platform: 'linux' } }),
  getDevice: (w) => ({ path: { device_id: w.deviceA.id } }),
  updateDevice: (w) => ({ path: { device_id: w.deviceA.id }, body: { name: 'Renamed' } }),
  deleteDevice: (w) => ({ path: { device_id: w.deviceA.id } }),
  revokeDeviceCredentials: (w) => ({ path: { device_id: w.deviceA.id } }),
  listDeviceCredentials: (w) => ({ path: { device_id: w.agent.deviceId }, query: { limit: 10 } }),
  revokeDeviceCredential: (w) => ({
    path: { device_id: w.agent.deviceId, credential_id: w.agentCredentialId },
  }),
  revokeSiteDeviceCredentials: (w) => ({ path: { site_id: w.siteA.id } }),
  issueDeviceRegistrationToken: (w) => ({ path: { device_id: w.deviceA.id } }),
  getDeviceStats: (w) => ({ query: { site_id: w.siteA.id } }),
  getDeviceMetrics: (w) => ({
    path: { device_id: w.agent.deviceId },
    query: { metric: 'cpu_percent', range: '1h', max_points: 60 },
  }),
  getDeviceInventory: (w) => ({ path: { device_id: w.agent.deviceId } }),
  listDeviceSoftware: (w) => ({ path: { device_id: w.agent.deviceId } }),
  uninstallDeviceSoftware: (w) => ({
    path: { device_id: w.agent.deviceId, software_id: 'sw_4F1C9A2E7B3D5A60812C4E6BQR' },
    query: { wait_seconds: 0 },
  }),
  listSoftwareBlockOverrides: (w) => ({ path: { device_id: w.agent.deviceId }, query: { limit: 10 } }),
  createSoftwareBlockOverride: (w) => ({
    path: { device_id: w.agent.deviceId },
    body: { effect: 'exempt', block_entry_id: w.softwareBlockEntryId, reason: 'The world exemption' },
  }),
  deleteSoftwareBlockOverride: (w) => ({
    path: { device_id: w.agent.deviceId, override_id: w.softwareBlockOverrideId },
  }),
  listSoftwareBlockEntries: () => ({ query: { limit: 10 } }),
  createSoftwareBlockEntry: () => ({
    body: {
      name_pattern: 'World kiosk shell*',
      publisher: 'Meridian',
      version: '1.0.0',
      reason: 'Kiosks need it',
    },
  }),
  getSoftwareBlockEntry: (w) => ({ path: { block_entry_id: w.softwareBlockEntryId } }),
  updateSoftwareBlockEntry: (w) => ({
    path: { block_entry_id: w.softwareBlockEntryId },
    body: { publisher: null, reason: 'The world agent stays, whoever publishes it' },
  }),
  deleteSoftwareBlockEntry: (w) => ({ path: { block_entry_id: w.softwareBlockEntryId } }),
  uploadAgentInventory: () => ({
    body: {
      hardware: {
        manufacturer: 'Dell Inc.',
        cpu_cores: 8,
        memory_bytes: 17_179_869_184,
        disks: [{ name: '/', size_bytes: 512_000_000_000, free_bytes: 200_000_000_000 }],
      },
      software: [{ name: 'TouchDesigner', version: '2023.11880' }],
      services: [{ name: 'sshd', state: 'running', start_mode: 'automatic' }],
    },
  }),
  listEnrollmentCodes: (w) => ({ path: { site_id: w.siteA.id }, query: { limit: 10 } }),
  createEnrollmentCode: (w) => ({
    path: { site_id: w.siteA.id },
    body: { label: unique('code'), max_uses: 5 },
  }),
  revokeEnrollmentCode: (w) => ({ path: { site_id: w.siteA.id, code_id: w.codeId } }),
  listEnrollmentRequests: () => ({ query: { limit: 10 } }),
  getEnrollmentRequest: (w) => ({ path: { request_id: w.pending.request_id } }),
  approveEnrollmentRequest: (w) => ({
    path: { request_id: w.pending.request_id },
    body: { name: 'Approved kiosk' },
  }),
  denyEnrollmentRequest: (w) => ({
    path: { request_id: w.pending.request_id },
    body: { reason: 'Not one of ours' },
  }),
  enrollAgent: (w) => ({ body: { code: w.code, fingerprint: newFingerprint(), facts: facts() } }),
  pollAgentEnrollment: (w) => ({
    body: { request_id: w.pending.request_id, poll_token: w.pending.poll_token },
  }),
  refreshAgentToken: (w) => ({ body: { refresh_token: w.agent.credentials.refresh_token } }),
  pollAgentCommands: () => ({ query: { wait_seconds: 0, limit: 10 } }),
  reportAgentCommandProgress: (w) => ({
    path: { command_id: w.commandId },
    body: { percent: 50, message: 'Half way' },
  }),
  reportAgentCommandResult: (w) => ({
    path: { command_id: w.commandId },
    body: { status: 'succeeded', exit_code: 0, stdout: 'pong', duration_ms: 12 },
  }),
  listDeviceTypes: () => ({}),
  getDeviceType: () => ({ path: { device_type: 'workstation' } }),
  listCommands: () => ({ query: { limit: 10 } }),
  createCommand: (w) => ({
    body: { device_id: w.agent.deviceId, type: 'echo', params: { text: unique('hello') } },
  }),
  getCommand: (w) => ({ path: { command_id: w.commandId } }),
  cancelCommand: (w) => ({ path: { command_id: w.commandId } }),
  clearPendingCommands: (w) => ({ path: { device_id: w.deviceA.id } }),
  listJobs: () => ({ query: { limit: 10, state: 'running' } }),
  createJob: (w) => ({
    body: { name: unique('job'), command: { type: 'ping' }, target: { device_ids: [w.deviceA.id] } },
  }),
  getJob: (w) => ({ path: { job_id: w.jobId } }),
  listJobTargets: (w) => ({ path: { job_id: w.jobId }, query: { limit: 10 } }),
  cancelJob: (w) => ({ path: { job_id: w.jobId } }),
  retryJob: (w) => ({ path: { job_id: w.jobId } }),
  listSchedules: () => ({ query: { limit: 10, enabled: false } }),
  createSchedule: (w) => ({
    body: {
      name: unique('schedule'),
      trigger: { kind: 'interval', interval_seconds: 86_400 },
      job: { command: { type: 'ping' }, target: { device_ids: [w.deviceA.id] } },
    },
  }),
  getSchedule: (w) => ({ path: { schedule_id: w.scheduleId } }),
  updateSchedule: (w) => ({ path: { schedule_id: w.scheduleId }, body: { description: 'Changed' } }),
  deleteSchedule: (w) => ({ path: { schedule_id: w.scheduleId } }),
  runScheduleNow: (w) => ({ path: { schedule_id: w.scheduleId } }),
  listScheduleRuns: (w) => ({ path: { schedule_id: w.scheduleId }, query: { limit: 10 } }),
  listEvents: (w) => ({ query: { limit: 10, site_id: w.siteA.id, acknowledged: false } }),
  streamEvents: (w) => ({ query: { site_id: w.siteA.id } }),
  acknowledgeEvents: (w) => ({ body: { event_ids: [w.eventId] } }),
  countUnacknowledgedEvents: (w) => ({ query: { site_id: w.siteA.id } }),
  getEvent: (w) => ({ path: { event_id: w.eventId } }),
  acknowledgeEvent: (w) => ({ path: { event_id: w.eventId } }),
  listMonitoredProcesses: (w) => ({ path: { device_id: w.agent.deviceId }, query: { limit: 10 } }),
  createMonitoredProcess: (w) => ({
    path: { device_id: w.agent.deviceId },
    body: {
      name: unique('process'),
      executable_path: '/usr/bin/kiosk',
      arguments: ['--fullscreen'],
      launch_mode: 'scheduled',
      schedules: [{ days: ['mon', 'fri'], start_time: '08:00', end_time: '18:00' }],
    },
  }),
  getMonitoredProcess: (w) => ({ path: { device_id: w.agent.deviceId, process_id: w.processId } }),
  updateMonitoredProcess: (w) => ({
    path: { device_id: w.agent.deviceId, process_id: w.processId },
    body: { launch_mode: 'always', restart_delay_seconds: 10 },
  }),
  deleteMonitoredProcess: (w) => ({ path: { device_id: w.agent.deviceId, process_id: w.processId } }),
  listAlertRules: () => ({ query: { limit: 10, kind: 'metric_threshold', enabled: true } }),
  createAlertRule: (w) => ({
    body: {
      name: unique('rule'),
      kind: 'metric_threshold',
      metric: 'cpu_percent',
      threshold_percent: 90,
      duration_minutes: 10,
      scope: { site_ids: [w.siteA.id] },
    },
  }),
  previewAlertRule: (w) => ({
    body: { name: 'Offline', kind: 'device_offline', duration_minutes: 5, scope: { site_ids: [w.siteA.id] } },
  }),
  getAlertRule: (w) => ({ path: { rule_id: w.ruleId } }),
  updateAlertRule: (w) => ({
    path: { rule_id: w.ruleId },
    body: { severity: 'critical', duration_minutes: 15 },
  }),
  deleteAlertRule: (w) => ({ path: { rule_id: w.ruleId } }),
  listIncidents: (w) => ({
    query: { limit: 10, site_id: w.siteA.id, state: 'open', since: '2026-01-01T00:00:00Z' },
  }),
  getIncident: (w) => ({ path: { incident_id: w.incidentId } }),
  acknowledgeIncident: (w) => ({ path: { incident_id: w.incidentId } }),
  unacknowledgeIncident: (w) => ({ path: { incident_id: w.incidentId } }),
  resolveIncident: (w) => ({ path: { incident_id: w.incidentId } }),
  addIncidentNote: (w) => ({
    path: { incident_id: w.incidentId },
    body: { note: unique('Looking into it') },
  }),
  getIncidentTimeline: (w) => ({ path: { incident_id: w.incidentId }, query: { limit: 10 } }),
  acknowledgeIncidents: (w) => ({ body: { incident_ids: [w.incidentId] } }),
  resolveIncidents: (w) => ({ body: { filter: { site_id: w.siteA.id, severity: 'warning' } } }),
  listAuditEvents: () => ({
    query: { limit: 10, resource_type: 'sites', since: '2026-01-01T00:00:00.000Z' },
  }),
  getAuditEvent: (w) => ({ path: { audit_event_id: w.auditEventId } }),
  exportAuditEvents: () => ({ query: { operation: 'createSite' } }),
  verifyAuditEvents: () => ({ query: { since: '2026-01-01T00:00:00.000Z' } }),
  listWebhooks: () => ({ query: { limit: 10 } }),
  createWebhook: () => ({
    body: {
      url: 'http://127.0.0.1:9/meridian',
      description: unique('hook'),
      event_types: ['device.offline'],
    },
  }),
  getWebhook: (w) => ({ path: { webhook_id: w.webhookId } }),
  updateWebhook: (w) => ({ path: { webhook_id: w.webhookId }, body: { description: 'Changed' } }),
  deleteWebhook: (w) => ({ path: { webhook_id: w.webhookId } }),
  rotateWebhookSecret: (w) => ({ path: { webhook_id: w.webhookId } }),
  simulateEvent: (w) => ({
    body: {
      type: 'device.offline',
      severity: 'warning',
      device_id: w.deviceA.id,
      message: unique('Simulated'),
    },
  }),
  testWebhook: (w) => ({ path: { webhook_id: w.webhookId } }),
  listWebhookDeliveries: (w) => ({
    path: { webhook_id: w.webhookId },
    query: { limit: 10, state: 'failed' },
  }),
  retryWebhookDelivery: (w) => ({ path: { webhook_id: w.webhookId, delivery_id: w.webhookDeliveryId } }),
  listIdentityProviders: () => ({ query: { limit: 10 } }),
  createIdentityProvider: () => ({
    body: {
      name: unique('Directory'),
      kind: 'ldap',
      ldap: {
        url: 'ldap://127.0.0.1:9',
        bind_dn: 'cn=meridian,dc=example,dc=com',
        bind_password: 'service-account-password',
        user_search_base: 'ou=people,dc=example,dc=com',
      },
      role_mappings: [{ match: 'cn=ops,dc=example,dc=com', role: 'operator' }],
    },
  }),
  getIdentityProvider: (w) => ({ path: { provider_id: w.identityProviderId } }),
  updateIdentityProvider: (w) => ({ path: { provider_id: w.identityProviderId }, body: { name: 'Renamed' } }),
  deleteIdentityProvider: (w) => ({ path: { provider_id: w.identityProviderId } }),
  testIdentityProvider: (w) => ({ path: { provider_id: w.identityProviderId } }),
  startOidcSignIn: (w) => ({ path: { provider_id: w.identityProviderId }, query: { return_to: '/docs' } }),
  finishOidcSignIn: (w) => ({
    path: { provider_id: w.identityProviderId },
    query: { code: 'an-authorization-code', state: 'a-state' },
  }),
  ldapLogin: (w) => ({
    path: { provider_id: w.identityProviderId },
    body: { username: 'grace', password: 'a-directory-password' },
  }),
  listNotificationChannels: () => ({ query: { limit: 10 } }),
  createNotificationChannel: () => ({
    body: {
      name: unique('On-call e-mail'),
      kind: 'email',
      email: {
        host: '127.0.0.1',
        port: 9,
        tls: 'starttls',
        username: 'meridian',
        password: 'smtp-password',
        from: 'meridian@example.com',
        to: ['oncall@example.com'],
      },
    },
  }),
  getNotificationChannel: (w) => ({ path: { channel_id: w.notificationChannelId } }),
  updateNotificationChannel: (w) => ({
    path: { channel_id: w.notificationChannelId },
    body: { name: 'Renamed channel' },
  }),
  deleteNotificationChannel: (w) => ({ path: { channel_id: w.notificationChannelId } }),
  testNotificationChannel: (w) => ({ path: { channel_id: w.notificationChannelId } }),
  listNotifications: (w) => ({
    query: { limit: 10, channel_id: w.notificationChannelId, incident_id: w.incidentId, state: 'failed' },
  }),
  listScripts: () => ({ query: { limit: 10, language: 'bash' } }),
  createScript: () => ({ body: { name: unique('Uptime'), language: 'sh', body: 'uptime\n' } }),
  getScript: (w) => ({ path: { script_id: w.scriptId } }),
  updateScript: (w) => ({ path: { script_id: w.scriptId }, body: { description: 'Changed' } }),
  deleteScript: (w) => ({ path: { script_id: w.scriptId } }),
  listScriptVersions: (w) => ({ path: { script_id: w.scriptId }, query: { limit: 10 } }),
  getScriptVersion: (w) => ({ path: { script_id: w.scriptId, version: '1' } }),
  cloneScript: (w) => ({ path: { script_id: w.scriptId }, body: { name: unique('Copy') } }),
  exportScript: (w) => ({ path: { script_id: w.scriptId } }),
  importScript: () => ({
    body: {
      format: 'meridian.script',
      format_version: 1,
      exported_at: '2026-11-05T09:30:00.000Z',
      script: {
        name: unique('Imported'),
        description: '',
        language: 'sh',
        platforms: ['linux'],
        body: 'uptime\n',
        parameters: { type: 'object' },
        timeout_seconds: 60,
        run_as: 'system',
      },
    },
  }),
  listCustomFields: () => ({ query: { limit: 10 } }),
  createCustomField: () => ({
    body: { key: unique('rack_unit').replace(/-/g, '_'), label: 'Rack unit', type: 'number', default: 1 },
  }),
  getCustomField: (w) => ({ path: { custom_field_id: w.customFieldId } }),
  updateCustomField: (w) => ({
    path: { custom_field_id: w.customFieldId },
    body: { label: 'Asset tag (new)' },
  }),
  deleteCustomField: (w) => ({ path: { custom_field_id: w.customFieldId } }),
  setDeviceCustomField: (w) => ({
    path: { device_id: w.deviceA.id, key: w.customFieldKey },
    body: { value: 'INV-20931' },
  }),
  deleteDeviceCustomField: (w) => ({ path: { device_id: w.deviceA.id, key: w.customFieldKey } }),
  listDeviceViews: () => ({ query: { limit: 10, visibility: 'private' } }),
  createDeviceView: (w) => ({
    body: {
      name: unique('View'),
      filter: { field: 'site_id', op: 'eq', value: w.siteA.id },
      sort: '-last_seen_at',
      columns: ['name', 'status', `custom.${w.customFieldKey}`],
    },
  }),
  getDeviceView: (w) => ({ path: { view_id: w.deviceViewId } }),
  updateDeviceView: (w) => ({ path: { view_id: w.deviceViewId }, body: { name: 'Renamed view' } }),
  deleteDeviceView: (w) => ({ path: { view_id: w.deviceViewId } }),
  listLiveProcesses: (w) => ({
    path: { device_id: w.deviceA.id },
    query: { max_age_seconds: 60, wait_seconds: 0 },
  }),
  terminateLiveProcess: (w) => ({ path: { device_id: w.deviceA.id, pid: '4242' } }),
  runServiceAction: (w) => ({
    path: { device_id: w.deviceA.id, service_name: 'nginx.service' },
    body: { action: 'restart' },
  }),
  listInstallers: () => ({ query: { limit: 10, name: 'world agent tools', platform: 'linux' } }),
  createInstaller: () => ({
    body: {
      name: unique('Kiosk tools'),
      version: '2.1.0',
      platform: 'linux',
      url: 'https://downloads.example.com/kiosk-tools-2.1.0.sh',
      sha256: 'a'.repeat(64),
      install_arguments: ['--quiet'],
      uninstall_arguments: ['--uninstall', '--quiet'],
      detection: { name: 'kiosk-tools' },
    },
  }),
  getInstaller: (w) => ({ path: { installer_id: w.installerId } }),
  listDeployments: (w) => ({
    query: { limit: 10, state: 'running', installer_id: w.installerId, action: 'install' },
  }),
  createDeployment: (w) => ({
    body: {
      name: unique('deployment'),
      installer_id: w.installerId,
      action: 'install',
      target: { device_ids: [w.deviceA.id] },
      timeout_seconds: 3600,
    },
  }),
  getDeployment: (w) => ({ path: { deployment_id: w.deploymentId } }),
  listDeploymentTargets: (w) => ({
    path: { deployment_id: w.deploymentId },
    query: { limit: 10, state: 'pending' },
  }),
  cancelDeployment: (w) => ({ path: { deployment_id: w.deploymentId } }),
  retryDeployment: (w) => ({ path: { deployment_id: w.deploymentId } }),
  deleteInstaller: (w) => ({ path: { installer_id: w.installerId } }),
  uploadInstallerArtifact: (w) => ({
    path: { installer_id: w.uploadedInstaller.installer.id },
    body: new Blob([w.uploadedInstaller.bytes as Uint8Array<ArrayBuffer>]),
    bodySerializer: null,
    headers: { 'Content-Type': 'application/octet-stream' },
  }),
  downloadAgentInstaller: (w) => ({ path: { installer_id: w.uploadedInstaller.installer.id } }),
  getAgentConfig: () => ({}),
  listAgentReleases: () => ({ query: { limit: 10, channel: 'stable' } }),
  createAgentRelease: () => ({
    body: { version: newVersion(), channel: 'beta', notes: 'Faster heartbeats.' },
  }),
  getAgentRelease: (w) => ({ path: { release_id: w.releaseId } }),
  deleteAgentRelease: (w) => ({ path: { release_id: w.releaseId } }),
  addAgentReleaseArtifact: (w) => ({
    path: { release_id: w.releaseId },
    query: { platform: 'windows-amd64' },
    body: { url: 'https://downloads.example.com/meridian-agent.exe', sha256: 'ab'.repeat(32) },
  }),
  downloadAgentReleaseArtifact: (w) => ({ path: { release_id: w.releaseId, platform: 'linux-amd64' } }),
  listRollouts: () => ({ query: { limit: 10, status: 'running' } }),
  createRollout: (w) => ({
    body: {
      name: unique('rollout'),
      release_id: w.releaseId,
      target: { device_ids: [w.deviceA.id] },
      batch_size: 1,
      failure_threshold: 2,
      batch_interval_seconds: 60,
      device_timeout_seconds: 600,
    },
  }),
  getRollout: (w) => ({ path: { rollout_id: w.rolloutId } }),
  listRolloutDevices: (w) => ({ path: { rollout_id: w.rolloutId }, query: { limit: 10, state: 'updating' } }),
  pauseRollout: (w) => ({ path: { rollout_id: w.rolloutId } }),
  resumeRollout: (w) => ({ path: { rollout_id: w.rolloutId } }),
  cancelRollout: (w) => ({ path: { rollout_id: w.rolloutId } }),
  reportAgentUpdateResult: (w) => ({
    body: { rollout_id: w.rolloutId, outcome: 'failed', version: '1.0.0', error: 'Checksum mismatch' },
  }),
  downloadAgentUpdate: () => ({ path: { platform: 'linux-arm64' } }),
  downloadAgent: () => ({ path: { platform: 'linux-amd64' } }),
  getAgentInstallScript: (w) => ({ query: { code: w.code } }),
  getAgentInstallPowerShellScript: (w) => ({ query: { code: w.code } }),
  uploadAgentScreenshot: () => jpegBody(),
  listDeviceScreenshots: (w) => ({ path: { device_id: w.agent.deviceId } }),
  getLatestDeviceScreenshot: (w) => ({ path: { device_id: w.agent.deviceId } }),
  sendAgentEvent: () => ({
    body: {
      type: 'process_crash',
      severity: 'error',
      message: 'TouchDesigner exited',
      data: { process_name: 'TouchDesigner' },
    },
  }),
  sendAgentHeartbeat: () => ({
    body: {
      status: 'ok',
      agent_version: '1.0.0',
      uptime_seconds: 3600,
      metrics: { cpu_percent: 5, memory_percent: 40, disk_percent: 30 },
    },
  }),
};

/** A client that may call the operation: anonymous, the world's agent, or an operator (the admin by default). */
export function clientFor(
  t: TestServer,
  world: World,
  operation: { public: boolean; agent: boolean },
  operatorToken = t.adminToken,
): Client {
  if (operation.public) return t.client();
  return t.client(operation.agent ? world.agent.credentials.access_token : operatorToken);
}

/** Operations answering with an event stream, which the SDK exposes as an async iterator. */
const STREAMS: Record<string, string> = { streamEvents: '/v1/events/stream' };

/**
 * Calls an operation of the SDK by its operationId. Event streams are opened with the same
 * client as one request whose answer is read as a stream and closed at once: its status and
 * headers are what the callers check.
 */
export async function callOperation(
  operationId: string,
  client: Client,
  options: CallOptions,
): Promise<SdkResult> {
  const stream = STREAMS[operationId];
  if (stream !== undefined) {
    const result = await client.get({
      url: stream,
      ...options,
      parseAs: 'stream',
      security: [
        { scheme: 'bearer', type: 'http' },
        { in: 'cookie', name: 'meridian_session', type: 'apiKey' },
      ],
    });
    if (result.data instanceof ReadableStream) await result.data.cancel();
    return result;
  }
  const operation = (sdk as unknown as Record<string, OperationFunction>)[operationId];
  if (!operation) throw new Error(`The SDK has no function ${operationId}`);
  return operation({ client, ...options });
}

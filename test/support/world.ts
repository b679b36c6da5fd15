/**
 * A small populated world for authorisation and input tests: two sites, a device on each, an
 * operator and a viewer who may only see site A, each with a session and an API token, and on
 * site A an enrolled agent with a command queued for it and a monitored process, an enrolment
 * code and an enrolment request waiting for approval.
 */
import {
  createAlertRule,
  createApiToken,
  createCommand,
  createDeviceFilter,
  createCustomField,
  createDeviceView,
  createJob,
  createDeployment,
  createSchedule,
  createScript,
  createInstaller,
  createRollout,
  createEnrollmentCode,
  createMonitoredProcess,
  createSite,
  createSoftwareBlockEntry,
  createSoftwareBlockOverride,
  createNotificationChannel,
  createIdentityProvider,
  createWebhook,
  testWebhook,
  listAuditEvents,
  listEvents,
  listIncidents,
  listDeviceCredentials,
  sendAgentEvent,
  createUser,
  createRole,
  enrollAgent,
  registerDevice,
  type AgentEnrollmentPending,
  type Client,
  type Device,
  type Installer,
  type Site,
  type User,
  type UserCreate,
} from '@meridian/sdk';
import { addAgent, facts, newFingerprint, type Agent } from './agents';
import { addUploadedInstaller } from './installers';
import { ownOrigin, registerPasskey, SoftwareAuthenticator } from './authenticator';
import { addRelease, addReleaseWithBuild, linkBuild, uploadBuild } from './releases';
import { ok, type TestServer } from './server';

export interface Member {
  user: User;
  password: string;
  session: string;
  client: Client;
}

export interface World {
  siteA: Site;
  siteB: Site;
  deviceA: Device;
  deviceB: Device;
  operator: Member;
  viewer: Member;
  /** An operator of site B only: "someone from another site". */
  outsider: Member;
  /** An API token of the viewer (tokens:read). */
  viewerTokenId: string;
  /** An enrolled agent on site A. */
  agent: Agent;
  /** The ID of one of the agent's tokens (its first refresh token). */
  agentCredentialId: string;
  /** An enrolment code of site A that does not auto-approve, and its ID. */
  code: string;
  codeId: string;
  /** A pending enrolment request on site A, with its poll token. */
  pending: AgentEnrollmentPending;
  /** A command queued for the agent's device (it has a day to finish). */
  commandId: string;
  /** An event of site A (the agent's enrolment). */
  eventId: string;
  /** A monitored process of the agent's device. */
  processId: string;
  /** A disabled webhook endpoint (nothing listens at its URL) and its failed test delivery. */
  webhookId: string;
  webhookDeliveryId: string;
  /** An entry of the audit log (the creation of site A). */
  auditEventId: string;
  /** An alert rule watching site A. */
  ruleId: string;
  /** An e-mail notification channel whose SMTP server does not listen (127.0.0.1:9). */
  notificationChannelId: string;
  /** An LDAP identity provider whose directory does not listen (127.0.0.1:9). */
  identityProviderId: string;
  /** A saved device filter selecting site A's Linux devices. */
  filterId: string;
  /** An incident of site A (the agent's process crashed), open. */
  incidentId: string;
  /** A string custom field (operator-written) and its key. */
  customFieldId: string;
  customFieldKey: string;
  /** A private device view of the admin (nobody else sees it). */
  deviceViewId: string;
  /** A passkey of the viewer (nobody else can see, rename or delete it). */
  passkeyId: string;
  /** A running job of site A: a ping for a device of its own that never answers (a day to finish). */
  jobId: string;
  /** A disabled schedule of site A (it never runs by itself): a weekly ping of a device of its own. */
  scheduleId: string;
  /** An agent release (stable) with an uploaded linux-amd64 build and a windows-amd64 build linked by URL. */
  releaseId: string;
  /** A running rollout of another release (its only build: linux-arm64) updating the agent's device. */
  rolloutId: string;
  /** A script of the library (a bash script with one parameter). */
  scriptId: string;
  /** An installer (a Linux shell-script installer at a URL nothing serves). */
  installerId: string;
  /** A running deployment of site A: another installer for a device of its own that never answers (a day to finish). */
  deploymentId: string;
  /** An installer whose file (a small shell script) is uploaded to Meridian, and that file. */
  uploadedInstaller: { installer: Installer; bytes: Buffer };
  /** A custom role nobody holds (devices:read on its own). */
  roleId: string;
  /** An entry of the software block list (World agent*). */
  softwareBlockEntryId: string;
  /** A block override of the agent's device (World show*). */
  softwareBlockOverrideId: string;
}

let counter = 0;
export const unique = (stem: string): string => `${stem}-${process.pid}-${++counter}`;

export async function addMember(
  t: TestServer,
  role: 'admin' | 'operator' | 'viewer',
  siteIds: string[],
): Promise<Member> {
  return addMemberWith(t, role, { role, site_ids: siteIds });
}

/** A signed-in user given `roles` (the users API's `role` and `site_ids`, or `role_bindings`). */
export async function addMemberWith(
  t: TestServer,
  stem: string,
  roles: Pick<UserCreate, 'role' | 'site_ids' | 'role_bindings'>,
): Promise<Member> {
  const password = 'a-long-enough-password';
  const user = ok(
    await createUser({
      client: t.admin,
      body: { username: unique(stem), password, ...roles },
    }),
  );
  const session = await t.signIn(user.username, password);
  return { user, password, session, client: t.client(session) };
}

export async function addSite(t: TestServer): Promise<Site> {
  return ok(await createSite({ client: t.admin, body: { name: unique('Site') } }));
}

export async function addDevice(t: TestServer, siteId: string): Promise<Device> {
  return ok(
    await registerDevice({
      client: t.admin,
      body: { name: unique('device'), site_id: siteId, platform: 'linux' },
    }),
  ).device;
}

export async function apiToken(
  member: Client,
  scopes: Parameters<typeof createApiToken>[0]['body']['scopes'],
): Promise<string> {
  return ok(await createApiToken({ client: member, body: { name: unique('token'), scopes } })).token;
}

/** An agent asks to enrol with a code that needs approval; returns the pending answer. */
export async function requestEnrollment(
  t: TestServer,
  code: string,
  fingerprint = newFingerprint(),
): Promise<AgentEnrollmentPending> {
  const result = await enrollAgent({ client: t.client(), body: { code, fingerprint, facts: facts() } });
  if (result.response.status !== 202)
    throw new Error(
      `expected a pending enrolment, got ${result.response.status}: ${JSON.stringify(result.error)}`,
    );
  return result.data as AgentEnrollmentPending;
}

/** A disabled endpoint (so no background delivery changes stored state) and a failed test send to it. */
async function addWebhook(t: TestServer): Promise<Pick<World, 'webhookId' | 'webhookDeliveryId'>> {
  const webhook = ok(
    await createWebhook({ client: t.admin, body: { url: 'http://127.0.0.1:9/world', enabled: false } }),
  );
  const delivery = ok(await testWebhook({ client: t.admin, path: { webhook_id: webhook.id } }));
  return { webhookId: webhook.id, webhookDeliveryId: delivery.id };
}

/** An open incident of the site: an event_match rule and an agent event it matches, evaluated. */
async function addIncident(t: TestServer, siteId: string, agent: Agent): Promise<string> {
  const rule = ok(
    await createAlertRule({
      client: t.admin,
      body: {
        name: 'Site A crashes',
        kind: 'event_match',
        event_type: 'agent.process_crash',
        scope: { site_ids: [siteId] },
      },
    }),
  );
  ok(
    await sendAgentEvent({
      client: agent.client,
      body: { type: 'process_crash', severity: 'error', message: 'Kiosk browser exited' },
    }),
  );
  await t.server.sweep();
  return ok(await listIncidents({ client: t.admin, query: { rule_id: rule.id } })).data[0]!.id;
}

/** The world's agent release: builds for the agent download and both install scripts. */
async function addWorldRelease(t: TestServer): Promise<string> {
  const { release } = await addReleaseWithBuild(t);
  ok(await linkBuild(t.admin, release.id, 'https://downloads.example.com/meridian-agent.exe', 'cd'));
  return release.id;
}

/**
 * A running rollout updating the device (it has a week to report) to a release whose only build is
 * for linux-arm64, so that the spec's example platform (linux-amd64) has none.
 */
async function addRollout(t: TestServer, deviceId: string): Promise<string> {
  const release = await addRelease(t);
  ok(await uploadBuild(t.admin, release.id, new Uint8Array(64).fill(7), { platform: 'linux-arm64' }));
  const rollout = await createRollout({
    client: t.admin,
    body: { release_id: release.id, target: { device_ids: [deviceId] }, device_timeout_seconds: 604_800 },
  });
  return ok(rollout).id;
}

/** A running job on a new device of the site (nothing answers it; it has a day to finish). */
async function addJob(t: TestServer, siteId: string): Promise<string> {
  const device = await addDevice(t, siteId);
  return ok(
    await createJob({
      client: t.admin,
      body: { command: { type: 'ping' }, target: { device_ids: [device.id] }, timeout_seconds: 86_400 },
    }),
  ).id;
}

async function addDeployment(t: TestServer, siteId: string): Promise<string> {
  const device = await addDevice(t, siteId);
  const installer = ok(
    await createInstaller({
      client: t.admin,
      body: {
        name: unique('World signage player'),
        version: '1.0.0',
        platform: 'linux',
        url: 'http://127.0.0.1:9/world-signage.sh',
        sha256: '1'.repeat(64),
      },
    }),
  );
  return ok(
    await createDeployment({
      client: t.admin,
      body: { installer_id: installer.id, target: { device_ids: [device.id] }, timeout_seconds: 86_400 },
    }),
  ).id;
}

async function addCustomField(t: TestServer): Promise<Pick<World, 'customFieldId' | 'customFieldKey'>> {
  const field = ok(
    await createCustomField({
      client: t.admin,
      body: { key: unique('asset_tag').replace(/-/g, '_'), label: 'Asset tag', type: 'string' },
    }),
  );
  return { customFieldId: field.id, customFieldKey: field.key };
}

/** A disabled weekly schedule on a new device of the site (so run-now leaves the other devices' queues alone). */
async function addSchedule(t: TestServer, siteId: string): Promise<string> {
  const device = await addDevice(t, siteId);
  return ok(
    await createSchedule({
      client: t.admin,
      body: {
        name: 'World maintenance',
        enabled: false,
        trigger: { kind: 'cron', cron: '0 2 * * 0', time_zone: 'Europe/Lisbon' },
        job: { command: { type: 'ping' }, target: { device_ids: [device.id] }, timeout_seconds: 86_400 },
      },
    }),
  ).id;
}

export async function buildWorld(t: TestServer): Promise<World> {
  const siteA = await addSite(t);
  const siteB = await addSite(t);
  const viewer = await addMember(t, 'viewer', [siteA.id]);
  const viewerToken = ok(
    await createApiToken({ client: viewer.client, body: { name: unique('token'), scopes: ['tokens:read'] } }),
  );
  const created = ok(
    await createEnrollmentCode({ client: t.admin, path: { site_id: siteA.id }, body: { label: 'world' } }),
  );
  const agent = await addAgent(t, siteA.id);
  const agentCredentials = ok(
    await listDeviceCredentials({ client: t.admin, path: { device_id: agent.deviceId } }),
  );
  const command = await createCommand({
    client: t.admin,
    body: { device_id: agent.deviceId, type: 'ping', timeout_seconds: 86_400 },
  });
  const events = ok(
    await listEvents({ client: t.admin, query: { device_id: agent.deviceId, type: 'device.enrolled' } }),
  );
  const process = ok(
    await createMonitoredProcess({
      client: t.admin,
      path: { device_id: agent.deviceId },
      body: { name: 'Kiosk browser', executable_path: '/usr/bin/chromium' },
    }),
  );
  const rule = ok(
    await createAlertRule({
      client: t.admin,
      body: { name: 'Site A offline', kind: 'device_offline', scope: { site_ids: [siteA.id] } },
    }),
  );
  const audited = ok(await listAuditEvents({ client: t.admin, query: { resource: siteA.id, limit: 1 } }));
  return {
    agent,
    agentCredentialId: agentCredentials.data[0]!.id,
    auditEventId: audited.data[0]!.id,
    processId: process.id,
    ...(await addWebhook(t)),
    ruleId: rule.id,
    identityProviderId: ok(
      await createIdentityProvider({
        client: t.admin,
        body: {
          name: 'World directory',
          kind: 'ldap',
          ldap: { url: 'ldap://127.0.0.1:9', user_search_base: 'ou=people,dc=example,dc=com' },
          default_role: 'viewer',
        },
      }),
    ).id,
    notificationChannelId: ok(
      await createNotificationChannel({
        client: t.admin,
        body: {
          name: 'World e-mail',
          kind: 'email',
          email: {
            host: '127.0.0.1',
            port: 9,
            tls: 'none',
            from: 'meridian@example.com',
            to: ['ops@example.com'],
          },
        },
      }),
    ).id,
    incidentId: await addIncident(t, siteA.id, agent),
    filterId: ok(
      await createDeviceFilter({
        client: t.admin,
        body: {
          name: unique('World filter'),
          expression: {
            and: [
              { field: 'site_id', op: 'eq', value: siteA.id },
              { field: 'platform', op: 'eq', value: 'linux' },
            ],
          },
        },
      }),
    ).id,
    ...(await addCustomField(t)),
    passkeyId: (await registerPasskey(viewer.client, new SoftwareAuthenticator(ownOrigin(t)))).id,
    deviceViewId: ok(await createDeviceView({ client: t.admin, body: { name: 'World view', sort: 'name' } }))
      .id,
    roleId: ok(
      await createRole({ client: t.admin, body: { name: unique('role'), scopes: ['devices:read'] } }),
    ).id,
    softwareBlockEntryId: ok(
      await createSoftwareBlockEntry({
        client: t.admin,
        body: { name_pattern: 'World agent*', reason: 'The world agent stays' },
      }),
    ).id,
    softwareBlockOverrideId: ok(
      await createSoftwareBlockOverride({
        client: t.admin,
        path: { device_id: agent.deviceId },
        body: { effect: 'block', name_pattern: 'World show*', reason: 'The world show runs' },
      }),
    ).id,
    installerId: ok(
      await createInstaller({
        client: t.admin,
        body: {
          name: 'World agent tools',
          version: '1.0.0',
          platform: 'linux',
          url: 'http://127.0.0.1:9/world-tools.sh',
          sha256: '0'.repeat(64),
        },
      }),
    ).id,
    uploadedInstaller: await addUploadedInstaller(t),
    scriptId: ok(
      await createScript({
        client: t.admin,
        body: {
          name: 'World disk usage',
          language: 'bash',
          body: 'df -h "$MERIDIAN_PARAM_MOUNT"\n',
          parameters: { type: 'object', properties: { mount: { type: 'string', maxLength: 200 } } },
        },
      }),
    ).id,
    jobId: await addJob(t, siteA.id),
    deploymentId: await addDeployment(t, siteA.id),
    releaseId: await addWorldRelease(t),
    rolloutId: await addRollout(t, agent.deviceId),
    scheduleId: await addSchedule(t, siteA.id),
    commandId: command.data!.id,
    eventId: events.data[0]!.id,
    code: created.code,
    codeId: created.enrollment_code.id,
    pending: await requestEnrollment(t, created.code),
    siteA,
    siteB,
    deviceA: await addDevice(t, siteA.id),
    deviceB: await addDevice(t, siteB.id),
    operator: await addMember(t, 'operator', [siteA.id]),
    viewer,
    outsider: await addMember(t, 'operator', [siteB.id]),
    viewerTokenId: viewerToken.id,
  };
}

/**
 * For every operation that needs credentials: missing, malformed, unknown, revoked and expired
 * credentials are 401; credentials without the operation's scope are 403; a cookie session
 * without its CSRF token is 403 on unsafe methods; someone from another site gets 404 (or 403
 * when their role lacks the scope). Agent routes take only a device's access token and operator
 * routes never do: each kind of credential is 401 on the other kind of route. In every case the
 * stored state is unchanged.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Secret, TOTP } from 'otpauth';
import {
  type Client,
  createApiToken,
  createRole,
  deleteDevice,
  getCurrentUser,
  getDevice,
  listDevices,
  listUsers,
  login,
  revokeApiToken,
  revokeDeviceCredentials,
  updateDevice,
  updateRole,
  updateUser,
} from '@meridian/sdk';
import { BUILT_IN_ROLE_IDS } from '../server-stub/src/access/roles';
import { addAgent, renewAgent } from './support/agents';
import { cookieHeader, cookiesOf } from './support/cookies';
import { callOperation, validCalls, type SdkResult } from './support/operations';
import { expectProblem } from './support/problem';
import { ADMIN, ok } from './support/server';
import { snapshot } from './support/snapshot';
import { operationById, specOperations, type SpecOperation } from './support/spec';
import { useTestServer } from './support/use-test-server';
import { addMemberWith, type Member, unique } from './support/world';

const ALL_SCOPES = [
  'users:read',
  'users:write',
  'tokens:read',
  'tokens:write',
  'sites:read',
  'sites:write',
  'devices:read',
  'devices:write',
  'devices:register',
  'enrollment:read',
  'enrollment:write',
  'commands:read',
  'commands:write',
  'filters:read',
  'filters:write',
  'scripts:read',
  'scripts:write',
  'jobs:read',
  'jobs:write',
  'schedules:read',
  'schedules:write',
  'events:read',
  'events:write',
  'audit:read',
  'alerts:read',
  'alerts:write',
  'incidents:read',
  'incidents:write',
  'webhooks:read',
  'webhooks:write',
  'events:simulate',
  'notifications:read',
  'notifications:write',
  'custom_fields:write',
  'metrics:read',
  'identity_providers:read',
  'identity_providers:write',
  'roles:read',
  'roles:write',
  'releases:read',
  'releases:write',
  'rollouts:read',
  'rollouts:write',
  'software:read',
  'software:write',
] as const;
const OPERATOR_SCOPES = [
  'tokens:read',
  'tokens:write',
  'sites:read',
  'devices:read',
  'devices:write',
  'enrollment:read',
  'enrollment:write',
  'commands:read',
  'commands:write',
  'filters:read',
  'filters:write',
  'scripts:read',
  'releases:read',
  'rollouts:read',
  'rollouts:write',
  'jobs:read',
  'jobs:write',
  'schedules:read',
  'schedules:write',
  'events:read',
  'events:write',
  'alerts:read',
  'incidents:read',
  'incidents:write',
  'software:read',
  'software:write',
];
const VIEWER_SCOPES = [
  'tokens:read',
  'tokens:write',
  'sites:read',
  'devices:read',
  'enrollment:read',
  'commands:read',
  'filters:read',
  'scripts:read',
  'releases:read',
  'rollouts:read',
  'jobs:read',
  'schedules:read',
  'events:read',
  'alerts:read',
  'incidents:read',
  'software:read',
];
/** Operations on one thing that belongs to site A or to the viewer. */
const TARGETED = [
  'getUser',
  'updateUser',
  'deleteUser',
  'resetUserPassword',
  'resetUserMfa',
  'revokeUserSessions',
  'unlockUser',
  'createPasswordResetToken',
  'getApiToken',
  'revokeApiToken',
  'updatePasskey',
  'deletePasskey',
  'getSite',
  'updateSite',
  'deleteSite',
  'getDevice',
  'updateDevice',
  'deleteDevice',
  'revokeDeviceCredentials',
  'listDeviceCredentials',
  'revokeDeviceCredential',
  'revokeSiteDeviceCredentials',
  'issueDeviceRegistrationToken',
  'getDeviceMetrics',
  'getDeviceInventory',
  'listDeviceScreenshots',
  'getLatestDeviceScreenshot',
  'listEnrollmentCodes',
  'createEnrollmentCode',
  'revokeEnrollmentCode',
  'getEnrollmentRequest',
  'approveEnrollmentRequest',
  'denyEnrollmentRequest',
  'getCommand',
  'cancelCommand',
  'clearPendingCommands',
  'getJob',
  'listJobTargets',
  'cancelJob',
  'retryJob',
  'getDeployment',
  'listDeploymentTargets',
  'cancelDeployment',
  'retryDeployment',
  'getEvent',
  'acknowledgeEvent',
  'listMonitoredProcesses',
  'createMonitoredProcess',
  'getMonitoredProcess',
  'updateMonitoredProcess',
  'deleteMonitoredProcess',
  'setDeviceCustomField',
  'deleteDeviceCustomField',
  'getDeviceView',
  'updateDeviceView',
  'deleteDeviceView',
  'getIncident',
  'acknowledgeIncident',
  'unacknowledgeIncident',
  'resolveIncident',
  'addIncidentNote',
  'getIncidentTimeline',
  'getSchedule',
  'updateSchedule',
  'deleteSchedule',
  'runScheduleNow',
  'listScheduleRuns',
  'listLiveProcesses',
  'terminateLiveProcess',
  'runServiceAction',
  'listDeviceSoftware',
  'uninstallDeviceSoftware',
  'listSoftwareBlockOverrides',
  'createSoftwareBlockOverride',
  'deleteSoftwareBlockOverride',
];

const t = useTestServer({ world: true });
const tokens = { revoked: '', expired: '', loggedOut: '', apiToken: '' };
/** Access tokens of devices in each state an agent can find itself in. */
const agentTokens = { expired: '', revoked: '', deleted: '' };
let adminCookies: Record<string, string>;

beforeAll(async () => {
  const revoked = ok(
    await createApiToken({ client: t.admin, body: { name: unique('revoked'), scopes: [...ALL_SCOPES] } }),
  );
  expect((await revokeApiToken({ client: t.admin, path: { token_id: revoked.id } })).response.status).toBe(
    204,
  );
  tokens.revoked = revoked.token;
  const expiresAt = new Date(t.clock.now().getTime() + 60 * 60 * 1000).toISOString();
  tokens.expired = ok(
    await createApiToken({
      client: t.admin,
      body: { name: unique('expiring'), scopes: [...ALL_SCOPES], expires_at: expiresAt },
    }),
  ).token;
  tokens.loggedOut = await t.signIn(ADMIN.username, ADMIN.password);
  await callOperation('logout', t.client(tokens.loggedOut), {});
  adminCookies = cookiesOf(
    (await login({ client: t.client(), body: { username: ADMIN.username, password: ADMIN.password } }))
      .response,
  );
  tokens.apiToken = ok(
    await createApiToken({ client: t.admin, body: { name: unique('all'), scopes: [...ALL_SCOPES] } }),
  ).token;
  agentTokens.expired = (await addAgent(t, t.world.siteA.id)).credentials.access_token;
  await t.clock.advance(2 * 60 * 60 * 1000);
  // The world's agent lives on: its refresh token outlasts the two hours its access token did not.
  t.world.agent = await renewAgent(t, t.world.agent);
  const revokedAgent = await addAgent(t, t.world.siteA.id);
  ok(await revokeDeviceCredentials({ client: t.admin, path: { device_id: revokedAgent.deviceId } }));
  agentTokens.revoked = revokedAgent.credentials.access_token;
  const deleted = await addAgent(t, t.world.siteA.id);
  expect(
    (await deleteDevice({ client: t.admin, path: { device_id: deleted.deviceId } })).response.status,
  ).toBe(204);
  agentTokens.deleted = deleted.credentials.access_token;
});

const agentRoutes = specOperations.filter((op) => op.agent);
const secured = specOperations.filter((op) => !op.public && !op.agent);
const scoped = secured.filter((op) => op.scopes.length > 0);
const unsafe = secured.filter((op) => op.method !== 'GET');

async function expectRefused(
  operation: SpecOperation,
  status: number,
  code: string,
  call: () => Promise<SdkResult>,
): Promise<void> {
  const before = await snapshot(t);
  expectProblem(await call(), status, code);
  expect(await snapshot(t), `${operation.operationId} changed stored state`).toBe(before);
}

const call = (operation: SpecOperation, token?: string, headers?: Record<string, string>) => () =>
  callOperation(operation.operationId, t.client(token, headers), validCalls[operation.operationId]!(t.world));

describe.each(secured.map((op) => [op.operationId, op] as const))('%s', (_name, operation) => {
  it('is 401 without credentials', () => expectRefused(operation, 401, 'unauthenticated', call(operation)));
  it('is 401 with a malformed Authorization header', () =>
    expectRefused(
      operation,
      401,
      'malformed_authorization',
      call(operation, undefined, { Authorization: 'Token abc' }),
    ));
  it('is 401 with an unknown token', () =>
    expectRefused(operation, 401, 'invalid_token', call(operation, `mtk_${'x'.repeat(40)}`)));
  it('is 401 with a revoked API token', () =>
    expectRefused(operation, 401, 'token_revoked', call(operation, tokens.revoked)));
  it('is 401 with an expired API token', () =>
    expectRefused(operation, 401, 'token_expired', call(operation, tokens.expired)));
  it('is 401 with the session token of a signed-out session', () =>
    expectRefused(operation, 401, 'session_expired', call(operation, tokens.loggedOut)));
  it("is 401 with a device's access token", () =>
    expectRefused(
      operation,
      401,
      'operator_credentials_required',
      call(operation, t.world.agent.credentials.access_token),
    ));
});

describe.each(agentRoutes.map((op) => [op.operationId, op] as const))(
  '%s (an agent route)',
  (_name, operation) => {
    it('is 401 without credentials', () => expectRefused(operation, 401, 'unauthenticated', call(operation)));
    it('is 401 with a malformed Authorization header', () =>
      expectRefused(
        operation,
        401,
        'malformed_authorization',
        call(operation, undefined, { Authorization: 'Token abc' }),
      ));
    it('is 401 with an unknown access token', () =>
      expectRefused(operation, 401, 'invalid_token', call(operation, `mat_${'x'.repeat(43)}`)));
    it("is 401 with an admin's session token", () =>
      expectRefused(operation, 401, 'agent_credentials_required', call(operation, t.adminToken)));
    it('is 401 with an API token holding every scope', () =>
      expectRefused(operation, 401, 'agent_credentials_required', call(operation, tokens.apiToken)));
    it("is 401 with an admin's session cookie", () =>
      expectRefused(
        operation,
        401,
        'agent_credentials_required',
        call(operation, undefined, {
          Cookie: cookieHeader(adminCookies),
          'X-CSRF-Token': adminCookies.meridian_csrf!,
        }),
      ));
    it('is 401 with an expired access token', () =>
      expectRefused(operation, 401, 'token_expired', call(operation, agentTokens.expired)));
    it("is 401 once the device's credentials are revoked", () =>
      expectRefused(operation, 401, 'credentials_revoked', call(operation, agentTokens.revoked)));
    it('is 401 once the device is deleted', () =>
      expectRefused(operation, 401, 'device_deleted', call(operation, agentTokens.deleted)));
  },
);

describe.each(scoped.map((op) => [op.operationId, op] as const))('%s', (_name, operation) => {
  it('is 403 with an API token lacking its scope', async () => {
    const otherScopes = ALL_SCOPES.filter((scope) => !operation.scopes.includes(scope));
    const token = ok(
      await createApiToken({ client: t.admin, body: { name: unique('narrow'), scopes: otherScopes } }),
    ).token;
    await expectRefused(operation, 403, 'insufficient_scope', call(operation, token));
  });
});

const beyondViewers = scoped.filter((op) => !op.scopes.every((scope) => VIEWER_SCOPES.includes(scope)));
describe.each(beyondViewers.map((op) => [op.operationId, op] as const))('%s', (_name, operation) => {
  it('is 403 for a role without its scope (a viewer of the site)', () =>
    expectRefused(operation, 403, 'insufficient_scope', call(operation, t.world.viewer.session)));
});

describe.each(unsafe.map((op) => [op.operationId, op] as const))('%s', (_name, operation) => {
  it('is 403 with the session cookie but no X-CSRF-Token', () =>
    expectRefused(
      operation,
      403,
      'csrf_token_invalid',
      call(operation, undefined, { Cookie: cookieHeader(adminCookies) }),
    ));
});

describe.each(TARGETED.map((id) => [id, operationById(id)] as const))('%s', (_name, operation) => {
  it("is 404 (or 403 without the role's scope) for an operator of another site", () => {
    const holdsScopes = operation.scopes.every((scope) => OPERATOR_SCOPES.includes(scope));
    return expectRefused(
      operation,
      holdsScopes ? 404 : 403,
      holdsScopes ? 'not_found' : 'insufficient_scope',
      call(operation, t.world.outsider.session),
    );
  });
});

describe('site-scoped role bindings', () => {
  const { operator: operatorRole, viewer: viewerRole } = BUILT_IN_ROLE_IDS;
  const renameDevice = (client: Client, deviceId: string) =>
    updateDevice({ client, path: { device_id: deviceId }, body: { name: unique('renamed') } });
  const expectUnchangedRefusal = async (status: number, code: string, call: () => Promise<SdkResult>) => {
    const before = await snapshot(t);
    expectProblem(await call(), status, code);
    expect(await snapshot(t)).toBe(before);
  };

  it('keeps an operator of site A off site B (and lets them act on A)', async () => {
    const { operator, deviceA, deviceB } = t.world;
    await expectUnchangedRefusal(404, 'not_found', () => renameDevice(operator.client, deviceB.id));
    expectProblem(
      await getDevice({ client: operator.client, path: { device_id: deviceB.id } }),
      404,
      'not_found',
    );
    ok(await renameDevice(operator.client, deviceA.id));
  });

  it('gives a viewer binding on B and an operator binding on A each its own sites', async () => {
    const { siteA, siteB, deviceA, deviceB } = t.world;
    const mixed = await addMemberWith(t, 'mixed', {
      role_bindings: [
        { role_id: operatorRole, site_ids: [siteA.id] },
        { role_id: viewerRole, site_ids: [siteB.id] },
      ],
    });
    ok(await renameDevice(mixed.client, deviceA.id));
    await expectUnchangedRefusal(404, 'not_found', () => renameDevice(mixed.client, deviceB.id));
    expect(ok(await getDevice({ client: mixed.client, path: { device_id: deviceB.id } })).id).toBe(
      deviceB.id,
    );
    const listed = ok(await listDevices({ client: mixed.client, query: { limit: 500 } })).data.map(
      (d) => d.id,
    );
    expect(listed).toEqual(expect.arrayContaining([deviceA.id, deviceB.id]));
    const me = ok(await getCurrentUser({ client: mixed.client }));
    expect(me.scopes).toEqual([...OPERATOR_SCOPES].sort());
    expect(me.site_ids).toEqual([siteA.id, siteB.id].sort());
    expect(me.user.role).toBe('operator');
    expect(me.user.site_ids).toEqual([siteA.id, siteB.id].sort());
  });

  it('grants no admin-only scope through a binding limited to sites', async () => {
    const { siteA, deviceA } = t.world;
    const role = ok(
      await createRole({
        client: t.admin,
        body: { name: unique('site auditor'), scopes: ['users:read', 'sites:read', 'devices:read'] },
      }),
    );
    const member = await addMemberWith(t, 'auditor', {
      role_bindings: [{ role_id: role.id, site_ids: [siteA.id] }],
    });
    await expectUnchangedRefusal(403, 'insufficient_scope', () =>
      listUsers({ client: member.client, query: { limit: 10 } }),
    );
    ok(await getDevice({ client: member.client, path: { device_id: deviceA.id } }));
    expect(ok(await getCurrentUser({ client: member.client })).scopes).toEqual([
      'devices:read',
      'sites:read',
    ]);
  });

  it('shrinks an API token at once when its creator loses a role', async () => {
    const { siteA, deviceA } = t.world;
    const member = await addMemberWith(t, 'demoted', {
      role_bindings: [
        { role_id: operatorRole, site_ids: [siteA.id] },
        { role_id: viewerRole, site_ids: [siteA.id] },
      ],
    });
    const token = ok(
      await createApiToken({
        client: member.client,
        body: { name: unique('token'), scopes: ['devices:read', 'devices:write'] },
      }),
    ).token;
    ok(await renameDevice(t.client(token), deviceA.id));
    ok(
      await updateUser({
        client: t.admin,
        path: { user_id: member.user.id },
        body: { role_bindings: [{ role_id: viewerRole, site_ids: [siteA.id] }] },
      }),
    );
    await expectUnchangedRefusal(403, 'insufficient_scope', () => renameDevice(t.client(token), deviceA.id));
    ok(await getDevice({ client: t.client(token), path: { device_id: deviceA.id } }));
    const me = ok(await getCurrentUser({ client: t.client(token) }));
    expect(me.scopes).toEqual(['devices:read']);
  });

  it("takes a scope a custom role loses from its holders' sessions at once", async () => {
    const { siteA, deviceA } = t.world;
    const role = ok(
      await createRole({
        client: t.admin,
        body: { name: unique('fixer'), scopes: ['sites:read', 'devices:read', 'devices:write'] },
      }),
    );
    const member = await addMemberWith(t, 'fixer', {
      role_bindings: [{ role_id: role.id, site_ids: [siteA.id] }],
    });
    ok(await renameDevice(member.client, deviceA.id));
    ok(
      await updateRole({
        client: t.admin,
        path: { role_id: role.id },
        body: { scopes: ['sites:read', 'devices:read'] },
      }),
    );
    await expectUnchangedRefusal(403, 'insufficient_scope', () => renameDevice(member.client, deviceA.id));
  });
});

describe('a sign-in waiting for its second factor', () => {
  const password = 'a-long-enough-password';
  const username = unique('mfa-admin');
  let totp: TOTP;
  let challengeToken = '';
  const code = () => totp.generate({ timestamp: t.clock.now().getTime() });

  beforeAll(async () => {
    // An admin, so that no scope is what refuses the challenge token below.
    ok(await callOperation('createUser', t.admin, { body: { username, password, role: 'admin' } }));
    const client = t.client(await t.signIn(username, password));
    const { secret } = ok(await callOperation('setupTotp', client, {})) as { secret: string };
    totp = new TOTP({ secret: Secret.fromBase32(secret) });
    ok(await callOperation('confirmTotp', client, { body: { code: code() } }));
    const pending = await callOperation('login', t.client(), { body: { username, password } });
    expectProblem(pending, 401, 'mfa_required');
    challengeToken = (pending.error as { mfa_challenge: { token: string } }).mfa_challenge.token;
  });

  describe.each(secured.map((op) => [op.operationId, op] as const))('%s', (_name, operation) => {
    it('is 401 with the challenge token of a sign-in waiting for its second factor', () =>
      expectRefused(operation, 401, 'mfa_pending', call(operation, challengeToken)));
  });

  it('is good for POST /v1/auth/mfa/verify only, which completes the sign-in with it', async () => {
    await t.clock.advance(30_000);
    const verified = await callOperation('verifyMfa', t.client(), {
      body: { challenge_token: challengeToken, code: code() },
    });
    expect(ok(verified)).toMatchObject({ user: { username } });
  });
});

describe('a user whose role requires MFA and who has not enrolled', () => {
  /** What they may still do (server-stub/src/http/authenticate.ts): enrol, see who they are, sign out. */
  const allowed = new Set(['setupTotp', 'confirmTotp', 'getCurrentUser', 'logout', 'listSessions']);
  let member: Member;
  let apiToken = '';

  beforeAll(async () => {
    const role = ok(
      await createRole({ client: t.admin, body: { name: unique('mfa enforced'), scopes: [...ALL_SCOPES] } }),
    );
    member = await addMemberWith(t, 'mfa-enforced', {
      role_bindings: [{ role_id: role.id, site_ids: null }],
    });
    // A token made before the role required MFA: it is refused as well once it does.
    apiToken = ok(
      await createApiToken({
        client: member.client,
        body: { name: unique('token'), scopes: ['devices:read'] },
      }),
    ).token;
    ok(await updateRole({ client: t.admin, path: { role_id: role.id }, body: { require_mfa: true } }));
  });

  const refused = secured.filter((op) => !allowed.has(op.operationId));
  describe.each(refused.map((op) => [op.operationId, op] as const))('%s', (_name, operation) => {
    it('is 403 mfa_enrollment_required with their session', () =>
      expectRefused(operation, 403, 'mfa_enrollment_required', call(operation, member.session)));
  });

  it('refuses their API token too, and lets everything work once they have enrolled', async () => {
    const { deviceA } = t.world;
    const readDevice = (client: Client) => getDevice({ client, path: { device_id: deviceA.id } });
    expectProblem(await readDevice(t.client(apiToken)), 403, 'mfa_enrollment_required');
    expect(ok(await getCurrentUser({ client: member.client })).user.mfa_enabled).toBe(false);
    expect(ok(await callOperation('listSessions', member.client, {}))).toMatchObject({
      data: [{ current: true }],
    });
    const { secret } = ok(await callOperation('setupTotp', member.client, {})) as { secret: string };
    const code = new TOTP({ secret: Secret.fromBase32(secret) }).generate({
      timestamp: t.clock.now().getTime(),
    });
    ok(await callOperation('confirmTotp', member.client, { body: { code } }));
    expect(ok(await readDevice(member.client)).id).toBe(deviceA.id);
    expect(ok(await readDevice(t.client(apiToken))).id).toBe(deviceA.id);
    ok(await callOperation('logout', member.client, {}));
  });
});

describe('the same credentials, allowed', () => {
  it('lets the viewer read site A and its device (so the 404s above are about scoping, not the calls)', async () => {
    for (const id of [
      'getSite',
      'getDevice',
      'getApiToken',
      'listEnrollmentCodes',
      'getEnrollmentRequest',
      'getCommand',
      'getJob',
      'listJobTargets',
      'getAlertRule',
      'getIncident',
      'getIncidentTimeline',
    ]) {
      const result = await call(operationById(id), t.world.viewer.session)();
      expect(result.response.status, id).toBe(200);
    }
  });

  it("lets the world's agent call the agent routes (so the 401s above are about the credentials)", async () => {
    for (const operation of agentRoutes) {
      const result = await call(operation, t.world.agent.credentials.access_token)();
      expect(result.response.status, operation.operationId).toBeLessThan(300);
    }
  });
});

/**
 * Identity providers: created, read, updated with If-Match and deleted, their secrets stored only
 * encrypted and never shown; and directory sign-in (LDAP) against a real OpenLDAP server started
 * here (test/support/slapd.ts) and seeded with ldapadd: a user of a mapped group signs in and is
 * created just in time (`source: ldap`) with the group's role, signs in again as the same user
 * with the role the directory gives now; a wrong password and an unknown user get the same 401; a
 * user outside the allowed domains or of no mapped group is refused; the provider test succeeds
 * and fails; StartTLS is used (trusting the directory's certificate) or fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createIdentityProvider,
  createRole,
  createUser,
  deleteIdentityProvider,
  getCurrentUser,
  getIdentityProvider,
  ldapLogin,
  listIdentityProviders,
  login,
  testIdentityProvider,
  updateIdentityProvider,
} from '@meridian/sdk';
import { cookieHeader, cookiesOf } from './support/cookies';
import { expectProblem } from './support/problem';
import { ok } from './support/server';
import { snapshot } from './support/snapshot';
import { ADMIN_DN, ADMIN_PASSWORD, type Slapd, startSlapd, SUFFIX } from './support/slapd';
import { useTestServer } from './support/use-test-server';
import { addSite, unique } from './support/world';

const PEOPLE = `ou=people,${SUFFIX}`;
const OPERATORS = `cn=meridian-operators,ou=groups,${SUFFIX}`;
const ADMINS = `cn=meridian-admins,ou=groups,${SUFFIX}`;
/** The built-in operator role (its fixed ID). */
const OPERATOR_ROLE = 'rol_0000000000000000020PERAT0R';
const VIEWER_ROLE = 'rol_000000000000000003V1EWER00';

const person = (uid: string, mail: string, password: string) =>
  `dn: uid=${uid},${PEOPLE}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid} Example\nsn: Example\nmail: ${mail}\nuserPassword: ${password}\n`;
const group = (dn: string, members: string[]) =>
  `dn: ${dn}\nobjectClass: groupOfNames\ncn: ${dn.slice(3, dn.indexOf(','))}\n${members.map((uid) => `member: uid=${uid},${PEOPLE}`).join('\n')}\n`;

let slapd: Slapd;

beforeAll(async () => {
  slapd = await startSlapd();
  slapd.add(
    [
      `dn: ${PEOPLE}\nobjectClass: organizationalUnit\nou: people\n`,
      `dn: ou=groups,${SUFFIX}\nobjectClass: organizationalUnit\nou: groups\n`,
      person('grace', 'grace@example.com', 'grace-directory-password'),
      person('alan', 'alan@example.com', 'alan-directory-password'),
      person('mallory', 'mallory@elsewhere.org', 'mallory-directory-password'),
      person('local-clash', 'clash@example.com', 'clash-directory-password'),
      person('tina', 'tina@example.com', 'tina-directory-password'),
      person('ken', 'ken@example.com', 'ken-directory-password'),
      group(OPERATORS, ['grace', 'mallory', 'local-clash', 'tina', 'ken']),
      group(ADMINS, ['alan']),
    ].join('\n'),
  );
}, 60_000);

afterAll(() => slapd?.stop());

const t = useTestServer();

const ldapSettings = (overrides: Record<string, unknown> = {}) => ({
  url: slapd.url,
  bind_dn: ADMIN_DN,
  bind_password: ADMIN_PASSWORD,
  user_search_base: PEOPLE,
  ...overrides,
});

async function directory(overrides: Record<string, unknown> = {}, settings: Record<string, unknown> = {}) {
  return ok(
    await createIdentityProvider({
      client: t.admin,
      body: {
        name: unique('Directory'),
        kind: 'ldap',
        ldap: ldapSettings(settings),
        allowed_domains: ['example.com'],
        role_mappings: [
          { match: OPERATORS, role: 'operator' },
          { match: ADMINS.toUpperCase(), role: 'admin' },
        ],
        ...overrides,
      },
    }),
  );
}

const signIn = (providerId: string, username: string, password: string) =>
  ldapLogin({ client: t.client(), path: { provider_id: providerId }, body: { username, password } });

describe('identity providers', () => {
  it('creates an OIDC provider, storing the client secret only encrypted and never showing it', async () => {
    const created = await createIdentityProvider({
      client: t.admin,
      body: {
        name: 'Company SSO',
        kind: 'oidc',
        oidc: {
          issuer: 'https://login.example.com/realms/ops',
          client_id: 'meridian',
          client_secret: 'the-oidc-client-secret',
          scopes: ['email', 'groups'],
          role_claim: 'groups',
        },
        allowed_domains: ['example.com'],
        role_mappings: [{ match: 'ops', role: 'operator' }],
        default_role: 'viewer',
      },
    });
    expect(created.response.status).toBe(201);
    expect(created.response.headers.get('etag')).toBe('"1"');
    const provider = ok(created);
    expect(provider).toEqual({
      id: expect.stringMatching(/^idp_/),
      name: 'Company SSO',
      kind: 'oidc',
      enabled: true,
      oidc: {
        issuer: 'https://login.example.com/realms/ops',
        client_id: 'meridian',
        scopes: ['openid', 'email', 'groups'],
        role_claim: 'groups',
        trusted_amr: [],
      },
      ldap: null,
      allowed_domains: ['example.com'],
      role_mappings: [{ match: 'ops', role: 'operator' }],
      default_role: 'viewer',
      created_at: expect.any(String),
      updated_at: provider.created_at,
    });
    expect(await snapshot(t)).not.toContain('the-oidc-client-secret');
    expect(ok(await getIdentityProvider({ client: t.admin, path: { provider_id: provider.id } }))).toEqual(
      provider,
    );
    const listed = ok(await listIdentityProviders({ client: t.admin, query: { limit: 500 } })).data;
    expect(listed).toContainEqual(provider);
  });

  it('creates an LDAP provider with its bind password encrypted, updates it with If-Match, deletes it', async () => {
    const provider = await directory();
    expect(provider.ldap).toEqual({
      url: slapd.url,
      bind_dn: ADMIN_DN,
      user_search_base: PEOPLE,
      user_search_filter: '(uid={username})',
      start_tls: false,
      tls_ca_certificate: null,
    });
    expect(await snapshot(t)).not.toContain(ADMIN_PASSWORD);
    const path = { provider_id: provider.id };
    const stale = await updateIdentityProvider({
      client: t.admin,
      path,
      headers: { 'If-Match': '"7"' },
      body: { enabled: false },
    });
    expectProblem(stale, 412, 'precondition_failed');
    const updated = await updateIdentityProvider({
      client: t.admin,
      path,
      headers: { 'If-Match': '"1"' },
      body: { enabled: false, default_role: 'viewer' },
    });
    expect(updated.response.headers.get('etag')).toBe('"2"');
    expect(ok(updated)).toMatchObject({ enabled: false, default_role: 'viewer' });
    // A disabled provider signs nobody in.
    expectProblem(await signIn(provider.id, 'grace', 'grace-directory-password'), 404, 'not_found');
    expect((await deleteIdentityProvider({ client: t.admin, path })).response.status).toBe(204);
    expectProblem(await getIdentityProvider({ client: t.admin, path }), 404, 'not_found');
  });

  it('refuses the settings of the other kind, a missing half of the bind, an insecure issuer and unknown roles (422), at creation and in updates', async () => {
    const before = await snapshot(t);
    const cases: [Record<string, unknown>, string][] = [
      [
        { kind: 'ldap', oidc: { issuer: 'https://id.example.com', client_id: 'm', client_secret: 's' } },
        'provider_settings_mismatch',
      ],
      [
        { kind: 'ldap', ldap: { url: 'ldap://127.0.0.1:1', user_search_base: PEOPLE, bind_dn: ADMIN_DN } },
        'ldap_bind_incomplete',
      ],
      [
        { kind: 'oidc', oidc: { issuer: 'http://id.example.com', client_id: 'm', client_secret: 's' } },
        'insecure_issuer',
      ],
      [
        { kind: 'ldap', ldap: ldapSettings(), role_mappings: [{ match: OPERATORS, role: 'no-such-role' }] },
        'unknown_role',
      ],
    ];
    for (const [body, code] of cases)
      expectProblem(
        await createIdentityProvider({ client: t.admin, body: { name: 'Refused', ...body } as never }),
        422,
        code,
      );
    expect(await snapshot(t)).toBe(before);
    // A provider keeps its kind, and its roles must exist.
    const provider = await directory();
    const unchanged = await snapshot(t);
    const path = { provider_id: provider.id };
    expectProblem(
      await updateIdentityProvider({
        client: t.admin,
        path,
        body: { oidc: { issuer: 'https://id.example.com', client_id: 'm', client_secret: 's' } },
      }),
      422,
      'provider_settings_mismatch',
    );
    expectProblem(
      await updateIdentityProvider({ client: t.admin, path, body: { default_role: 'no-such-role' } }),
      422,
      'unknown_role',
    );
    expect(await snapshot(t)).toBe(unchanged);
  });
});

describe('directory sign-in (LDAP, a real slapd)', () => {
  it('signs in a member of a mapped group, creating the user just in time with the group’s role', async () => {
    const provider = await directory();
    const answer = await signIn(provider.id, 'grace', 'grace-directory-password');
    const session = ok(answer);
    expect(session.user).toMatchObject({
      username: 'grace',
      email: 'grace@example.com',
      display_name: 'grace Example',
      role: 'operator',
      role_bindings: [{ role_id: OPERATOR_ROLE, site_ids: null }],
      source: 'ldap',
      disabled: false,
    });
    // The session works as a bearer token and as the cookies a browser keeps.
    const me = ok(await getCurrentUser({ client: t.client(session.token) }));
    expect(me.user.id).toBe(session.user.id);
    const cookies = cookiesOf(answer.response);
    expect(Object.keys(cookies).sort()).toEqual(['meridian_csrf', 'meridian_session']);
    const byCookie = await getCurrentUser({ client: t.client(undefined, { Cookie: cookieHeader(cookies) }) });
    expect(ok(byCookie).user.username).toBe('grace');
    // Signing in again finds the same user; a directory account has no Meridian password.
    const again = ok(await signIn(provider.id, 'grace', 'grace-directory-password'));
    expect(again.user.id).toBe(session.user.id);
    expectProblem(
      await login({ client: t.client(), body: { username: 'grace', password: '!external' } }),
      401,
      'invalid_credentials',
    );
  });

  it('binds every role the groups map to, on every site, again at each sign-in (group DNs compared case-insensitively)', async () => {
    const provider = await directory();
    const first = ok(await signIn(provider.id, 'alan', 'alan-directory-password')).user;
    expect(first.role).toBe('admin');
    const nightShift = ok(
      await createRole({ client: t.admin, body: { name: unique('Night shift'), scopes: ['devices:read'] } }),
    );
    ok(
      await updateIdentityProvider({
        client: t.admin,
        path: { provider_id: provider.id },
        body: {
          role_mappings: [
            { match: ADMINS, role: 'viewer' },
            { match: ADMINS, role: nightShift.name },
          ],
        },
      }),
    );
    const again = ok(await signIn(provider.id, 'alan', 'alan-directory-password')).user;
    expect(again.id).toBe(first.id);
    expect(again.role_bindings).toEqual(
      [
        { role_id: nightShift.id, site_ids: null },
        { role_id: VIEWER_ROLE, site_ids: null },
      ].sort((a, b) => a.role_id.localeCompare(b.role_id)),
    );
  });

  it('binds a role only on the sites its mappings name (their union), and refuses admin on sites and unknown sites (422)', async () => {
    const [siteA, siteB] = [await addSite(t), await addSite(t)];
    const sorted = (ids: string[]) => [...ids].sort();
    const provider = await directory({
      role_mappings: [
        { match: OPERATORS, role: 'operator', site_ids: [siteA.id] },
        { match: OPERATORS.toUpperCase(), role: 'operator', site_ids: [siteB.id] },
        { match: OPERATORS, role: 'viewer', site_ids: [siteB.id] },
      ],
    });
    const user = ok(await signIn(provider.id, 'ken', 'ken-directory-password')).user;
    expect(user.role_bindings).toEqual(
      [
        { role_id: OPERATOR_ROLE, site_ids: sorted([siteA.id, siteB.id]) },
        { role_id: VIEWER_ROLE, site_ids: [siteB.id] },
      ].sort((a, b) => a.role_id.localeCompare(b.role_id)),
    );
    expect(
      ok(await getIdentityProvider({ client: t.admin, path: { provider_id: provider.id } })).role_mappings[0],
    ).toEqual({ match: OPERATORS, role: 'operator', site_ids: [siteA.id] });
    const update = (role_mappings: { match: string; role: string; site_ids?: string[] | null }[]) =>
      updateIdentityProvider({
        client: t.admin,
        path: { provider_id: provider.id },
        body: { role_mappings },
      });
    expectProblem(
      await update([{ match: ADMINS, role: 'admin', site_ids: [siteA.id] }]),
      422,
      'admin_role_all_sites',
    );
    expectProblem(
      await update([{ match: OPERATORS, role: 'operator', site_ids: ['site_01JC0A1B2C3D4E5F6G7H8J9K0M'] }]),
      422,
      'unknown_site',
    );
    // One mapping on every site makes the role's binding every site's.
    ok(
      await update([
        { match: OPERATORS, role: 'operator', site_ids: [siteA.id] },
        { match: OPERATORS, role: 'operator', site_ids: null },
      ]),
    );
    expect(ok(await signIn(provider.id, 'ken', 'ken-directory-password')).user.role_bindings).toEqual([
      { role_id: OPERATOR_ROLE, site_ids: null },
    ]);
  });

  it('answers a wrong password and an unknown user with the same 401, creating nobody', async () => {
    const provider = await directory();
    const before = await snapshot(t);
    const wrong = expectProblem(
      await signIn(provider.id, 'grace', 'not-her-password'),
      401,
      'invalid_credentials',
    );
    const unknown = expectProblem(
      await signIn(provider.id, 'nobody', 'whatever-password'),
      401,
      'invalid_credentials',
    );
    expect({ ...unknown, request_id: '' }).toEqual({ ...wrong, request_id: '' });
    // A filter injected through the username finds nobody either.
    expectProblem(await signIn(provider.id, '*', 'grace-directory-password'), 401, 'invalid_credentials');
    expect(await snapshot(t)).toBe(before);
  });

  it('refuses a user outside the allowed domains, and one of no mapped group when there is no default role (403)', async () => {
    const provider = await directory();
    const before = await snapshot(t);
    const outside = expectProblem(
      await signIn(provider.id, 'mallory', 'mallory-directory-password'),
      403,
      'identity_not_allowed',
    );
    expect(outside.detail).toContain('mallory@elsewhere.org');
    const groupless = await directory({ role_mappings: [{ match: ADMINS, role: 'admin' }] });
    expectProblem(
      await signIn(groupless.id, 'grace', 'grace-directory-password'),
      403,
      'identity_not_allowed',
    );
    expect(await snapshot(t)).toBe(before);
  });

  it('refuses a directory user whose username a local account holds (409)', async () => {
    const provider = await directory();
    ok(
      await createUser({
        client: t.admin,
        body: { username: 'local-clash', password: 'a-long-enough-password', role: 'viewer' },
      }),
    );
    expectProblem(
      await signIn(provider.id, 'local-clash', 'clash-directory-password'),
      409,
      'identity_conflict',
    );
  });

  it('answers 502 when the directory cannot be reached', async () => {
    const provider = await directory({}, { url: 'ldap://127.0.0.1:1' });
    expectProblem(
      await signIn(provider.id, 'grace', 'grace-directory-password'),
      502,
      'identity_provider_unreachable',
    );
  });
});

describe('testing a provider', () => {
  const test = (providerId: string) =>
    testIdentityProvider({ client: t.admin, path: { provider_id: providerId } });

  it('succeeds when the directory answers and the service account binds', async () => {
    const result = ok(await test((await directory()).id));
    expect(result).toEqual({ succeeded: true, latency_ms: expect.any(Number), error: null });
  });

  it('fails with the reason when the service account is refused or the directory is down', async () => {
    const refused = ok(await test((await directory({}, { bind_password: 'wrong' })).id));
    expect(refused).toEqual({
      succeeded: false,
      latency_ms: expect.any(Number),
      error: expect.stringMatching(/credentials/i),
    });
    const down = ok(await test((await directory({}, { url: 'ldap://127.0.0.1:1' })).id));
    expect(down).toMatchObject({ succeeded: false, error: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('uses StartTLS: trusting the directory’s certificate it succeeds, and signs in; not trusting it, it fails', async () => {
    const trusted = await directory({}, { start_tls: true, tls_ca_certificate: slapd.certificate });
    expect(ok(await test(trusted.id))).toMatchObject({ succeeded: true });
    expect(ok(await signIn(trusted.id, 'tina', 'tina-directory-password')).user.username).toBe('tina');
    const untrusted = await directory({}, { start_tls: true });
    expect(ok(await test(untrusted.id))).toMatchObject({
      succeeded: false,
      error: expect.stringMatching(/self[- ]signed/i),
    });
  });

  it('tests an OIDC provider by reading its discovery document', async () => {
    const provider = ok(
      await createIdentityProvider({
        client: t.admin,
        body: {
          name: unique('Nowhere'),
          kind: 'oidc',
          oidc: { issuer: 'http://127.0.0.1:1/realms/none', client_id: 'meridian', client_secret: 'secret' },
        },
      }),
    );
    expect(ok(await test(provider.id))).toMatchObject({
      succeeded: false,
      error: expect.stringContaining('127.0.0.1:1'),
    });
  });
});

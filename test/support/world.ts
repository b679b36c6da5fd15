/**
 * A small populated world for authorisation and input tests: two sites, a device on each, and
 * an operator and a viewer who may only see site A, each with a session and an API token.
 */
import {
  createApiToken, createSite, createUser, registerDevice,
  type Client, type Device, type Site, type User,
} from '@meridian/sdk';
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
}

let counter = 0;
export const unique = (stem: string): string => `${stem}-${process.pid}-${++counter}`;

export async function addMember(t: TestServer, role: 'admin' | 'operator' | 'viewer', siteIds: string[]): Promise<Member> {
  const password = 'a-long-enough-password';
  const user = ok(await createUser({ client: t.admin, body: { username: unique(role), password, role, site_ids: siteIds } }));
  const session = await t.signIn(user.username, password);
  return { user, password, session, client: t.client(session) };
}

export async function addSite(t: TestServer): Promise<Site> {
  return ok(await createSite({ client: t.admin, body: { name: unique('Site') } }));
}

export async function addDevice(t: TestServer, siteId: string): Promise<Device> {
  return ok(await registerDevice({ client: t.admin, body: { name: unique('device'), site_id: siteId, platform: 'linux' } })).device;
}

export async function apiToken(t: TestServer, member: Client, scopes: Parameters<typeof createApiToken>[0]['body']['scopes']): Promise<string> {
  return ok(await createApiToken({ client: member, body: { name: unique('token'), scopes } })).token;
}

export async function buildWorld(t: TestServer): Promise<World> {
  const siteA = await addSite(t);
  const siteB = await addSite(t);
  const viewer = await addMember(t, 'viewer', [siteA.id]);
  const viewerToken = ok(await createApiToken({ client: viewer.client, body: { name: unique('token'), scopes: ['tokens:read'] } }));
  return {
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

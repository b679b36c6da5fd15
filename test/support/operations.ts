/**
 * One valid SDK call per operation of the spec, given a populated world. The auth-matrix and
 * bad-input tests take these valid calls and break one thing at a time (the credentials, the
 * body, a parameter), so every operation is exercised the same way through the real SDK.
 */
import * as sdk from '@meridian/sdk';
import type { Client } from '@meridian/sdk';
import { ADMIN } from './server';
import { unique, type World } from './world';

export interface CallOptions {
  path?: Record<string, string>;
  query?: Record<string, unknown>;
  body?: unknown;
  headers?: Record<string, string>;
  bodySerializer?: (body: unknown) => string;
}

export interface SdkResult {
  data?: unknown;
  error?: unknown;
  response: Response;
}

type OperationFunction = (options: CallOptions & { client: Client }) => Promise<SdkResult>;

/** A valid request for each operation. Extra world state (token IDs) is passed in. */
export type ValidCall = (world: World) => CallOptions;

export const validCalls: Record<string, ValidCall> = {
  getHealth: () => ({}),
  getVersion: () => ({}),
  login: () => ({ body: { username: ADMIN.username, password: ADMIN.password } }),
  logout: () => ({}),
  getCurrentUser: () => ({}),
  changePassword: () => ({ body: { current_password: 'a-long-enough-password', new_password: 'another-long-password' } }),
  listUsers: () => ({ query: { limit: 10 } }),
  createUser: () => ({ body: { username: unique('new-user'), password: 'a-long-enough-password', role: 'viewer' } }),
  getUser: (w) => ({ path: { user_id: w.viewer.user.id } }),
  updateUser: (w) => ({ path: { user_id: w.viewer.user.id }, body: { display_name: 'Renamed' } }),
  deleteUser: (w) => ({ path: { user_id: w.viewer.user.id } }),
  resetUserPassword: (w) => ({ path: { user_id: w.viewer.user.id }, body: {} }),
  listApiTokens: () => ({ query: { limit: 10 } }),
  createApiToken: () => ({ body: { name: unique('token'), scopes: ['tokens:read'] } }),
  getApiToken: (w) => ({ path: { token_id: w.viewerTokenId } }),
  revokeApiToken: (w) => ({ path: { token_id: w.viewerTokenId } }),
  listSites: () => ({ query: { limit: 10 } }),
  createSite: () => ({ body: { name: unique('Site') } }),
  getSite: (w) => ({ path: { site_id: w.siteA.id } }),
  updateSite: (w) => ({ path: { site_id: w.siteA.id }, body: { description: 'Changed' } }),
  deleteSite: (w) => ({ path: { site_id: w.siteA.id } }),
  listDevices: () => ({ query: { limit: 10 } }),
  registerDevice: (w) => ({ body: { name: unique('device'), site_id: w.siteA.id, platform: 'linux' } }),
  getDevice: (w) => ({ path: { device_id: w.deviceA.id } }),
  updateDevice: (w) => ({ path: { device_id: w.deviceA.id }, body: { name: 'Renamed' } }),
  deleteDevice: (w) => ({ path: { device_id: w.deviceA.id } }),
};

/** Calls an operation of the SDK by its operationId. */
export function callOperation(operationId: string, client: Client, options: CallOptions): Promise<SdkResult> {
  const operation = (sdk as unknown as Record<string, OperationFunction>)[operationId];
  if (!operation) throw new Error(`The SDK has no function ${operationId}`);
  return operation({ client, ...options });
}

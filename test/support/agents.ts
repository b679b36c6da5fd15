/**
 * Agents for tests: enrolment codes, enrolling through the SDK like a real agent would, and
 * clients that carry a device's access token.
 */
import {
  createEnrollmentCode,
  enrollAgent,
  refreshAgentToken,
  type AgentCredentials,
  type AgentFacts,
  type Client,
  type EnrollmentCodeCreate,
} from '@meridian/sdk';
import { ok, type TestServer } from './server';
import { unique } from './world';

export interface Agent {
  deviceId: string;
  credentials: AgentCredentials;
  /** An SDK client sending the device's access token. */
  client: Client;
}

/** A real 1×1 JPEG (progressive), the smallest image a screenshot can be. */
export const TINY_JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=',
  'base64',
);

/** A JPEG for uploads through the SDK (binary bodies are sent as they are: no serializer). */
export const jpegBody = (image: Buffer = TINY_JPEG) => ({
  body: new Blob([new Uint8Array(image)], { type: 'image/jpeg' }),
  bodySerializer: null,
});

/** A fingerprint no other test uses. */
export const newFingerprint = (): string =>
  `sha256:${unique('fp').replace(/[^A-Za-z0-9]/g, '')}${Math.random().toString(16).slice(2)}`;

export const facts = (overrides: Partial<AgentFacts> = {}): AgentFacts => ({
  hostname: unique('host'),
  platform: 'linux',
  os_name: 'Ubuntu',
  os_version: '24.04',
  agent_version: '1.0.0',
  addresses: ['10.0.0.7'],
  ...overrides,
});

export async function addCode(
  t: Pick<TestServer, 'admin'>,
  siteId: string,
  body: EnrollmentCodeCreate = {},
): Promise<string> {
  return ok(await createEnrollmentCode({ client: t.admin, path: { site_id: siteId }, body })).code;
}

export function agentFrom(t: Pick<TestServer, 'client'>, credentials: AgentCredentials): Agent {
  return { deviceId: credentials.device_id, credentials, client: t.client(credentials.access_token) };
}

/** Enrols a new machine on the site with an auto-approving code and returns its agent. */
export async function addAgent(
  t: Pick<TestServer, 'admin' | 'client'>,
  siteId: string,
  fingerprint = newFingerprint(),
): Promise<Agent> {
  const code = await addCode(t, siteId, { auto_approve: true });
  const enrolled = await enrollAgent({ client: t.client(), body: { code, fingerprint, facts: facts() } });
  if (enrolled.response.status !== 201)
    throw new Error(`enrolment failed: ${enrolled.response.status} ${JSON.stringify(enrolled.error)}`);
  const body = enrolled.data as { credentials: AgentCredentials };
  return agentFrom(t, body.credentials);
}

/** The agent with fresh credentials (its refresh token is used up). */
export async function renewAgent(t: TestServer, agent: Agent): Promise<Agent> {
  return agentFrom(
    t,
    ok(
      await refreshAgentToken({
        client: t.client(),
        body: { refresh_token: agent.credentials.refresh_token },
      }),
    ),
  );
}

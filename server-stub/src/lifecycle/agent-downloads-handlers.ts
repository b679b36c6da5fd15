/**
 * What a machine needs before it is an agent: the agent itself (`GET /v1/agent/downloads/{platform}`,
 * with an enrolment code or a device's credentials) and the install scripts that download it,
 * check its SHA-256, install it and enrol (`GET /v1/agent/install.sh`, `install.ps1`).
 */
import { initServer } from '@ts-rest/express';
import type { Request } from 'express';
import type { AppContext } from '../context';
import { hashSecret } from '../auth/secrets';
import { contract } from '../generated/contract.gen';
import { codeStatus } from '../fleet/enrollment-store';
import { ApiError, problems } from '../http/problem';
import { serverUrl } from '../http/server-url';
import { latestBuild, PLATFORMS, type Platform } from './agent-releases-store';
import { sendBlob } from './blob-http';
import { installPowerShellScript, installShellScript, type ScriptBuild } from './install-scripts';

const s = initServer();
const DEFAULT_CHANNEL = 'stable';

/** An enrolment code that works now (not revoked, expired or used up); 401 otherwise. */
async function requireUsableCode(context: AppContext, code: string): Promise<void> {
  const row = await context.db
    .selectFrom('enrollment_codes')
    .selectAll()
    .where('code_hash', '=', hashSecret(code))
    .executeTakeFirst();
  if (!row || codeStatus(row, context.now().toISOString()) !== 'active')
    throw problems.unauthenticated(
      'enrollment_code_refused',
      'This enrolment code does not exist, or it expired, was used up or was revoked; ask an operator for a new one.',
    );
}

const noRelease = (channel: string, what: string): ApiError =>
  new ApiError(
    404,
    'no_agent_release',
    'Not found',
    `No release of the ${channel} channel has an agent build for ${what}.`,
  );

/** The newest build of each of `platforms` on the channel; for a script, where to download it. */
async function scriptBuilds(
  context: AppContext,
  server: string,
  code: string,
  channel: string,
  platforms: readonly Platform[],
): Promise<ScriptBuild[]> {
  const builds: ScriptBuild[] = [];
  for (const platform of platforms) {
    const found = await latestBuild(context, channel, platform);
    if (!found) continue;
    const { artifact } = found;
    const query = new URLSearchParams({ code, ...(channel === DEFAULT_CHANNEL ? {} : { channel }) });
    const url = artifact.url ?? `${server}/v1/agent/downloads/${platform}?${query}`;
    builds.push({ platform, url, sha256: artifact.sha256 });
  }
  return builds;
}

export function agentDownloadRoutes(context: AppContext) {
  /** What a script for these operating systems says, or 404 when the channel has no build for them. */
  async function script(req: Request, code: string, channel: string, systems: readonly string[]) {
    await requireUsableCode(context, code);
    const server = serverUrl(context, req);
    const platforms = PLATFORMS.filter((platform) => systems.includes(platform.split('-')[0]!));
    const builds = await scriptBuilds(context, server, code, channel, platforms);
    if (builds.length === 0) throw noRelease(channel, systems.join(' or '));
    return { server, code, builds };
  }

  return {
    downloadAgent: s.route(contract.agent.downloadAgent, async ({ params, query, req, res }) => {
      if (!req.agent) {
        if (query.code === undefined)
          throw problems.unauthenticated(
            'unauthenticated',
            "Send an enrolment code as ?code=…, or the device's access token as Authorization: Bearer <token>.",
          );
        await requireUsableCode(context, query.code);
      }
      const channel = query.channel ?? DEFAULT_CHANNEL;
      const found = await latestBuild(context, channel, params.platform);
      if (!found) throw noRelease(channel, params.platform);
      const { artifact } = found;
      if (artifact.url !== null) {
        res.setHeader('Location', artifact.url);
        return { status: 302, body: undefined };
      }
      return sendBlob(context.blobs, req, res, {
        sha256: artifact.sha256,
        size: Number(artifact.size_bytes),
        fileName: artifact.file_name,
      });
    }),

    getAgentInstallScript: s.route(contract.agent.getAgentInstallScript, async ({ query, req, res }) => {
      const input = await script(req, query.code, query.channel ?? DEFAULT_CHANNEL, ['linux', 'macos']);
      res.setHeader('Content-Type', 'text/x-shellscript; charset=utf-8');
      return { status: 200, body: installShellScript(input) };
    }),

    getAgentInstallPowerShellScript: s.route(
      contract.agent.getAgentInstallPowerShellScript,
      async ({ query, req, res }) => {
        const input = await script(req, query.code, query.channel ?? DEFAULT_CHANNEL, ['windows']);
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        return { status: 200, body: installPowerShellScript(input) };
      },
    ),
  };
}

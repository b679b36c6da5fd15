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
import { DEFAULT_CHANNEL } from './rollouts-store';

const s = initServer();

/** The site of an enrolment code that works now (not revoked, expired or used up); 401 otherwise. */
async function usableCodeSite(context: AppContext, code: string): Promise<string> {
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
  return row.site_id;
}

/**
 * The channel to take the agent from: the one asked for, else the one the machine follows — a
 * device its own, else its site's; a machine joining with a code its site's — else stable.
 */
async function channelFor(
  context: AppContext,
  asked: string | undefined,
  machine: { deviceId: string } | { siteId: string },
): Promise<string> {
  if (asked !== undefined) return asked;
  if ('deviceId' in machine) {
    const device = await context.db
      .selectFrom('devices as d')
      .innerJoin('sites as s', 's.id', 'd.site_id')
      .select(['d.channel', 's.channel as site_channel'])
      .where('d.id', '=', machine.deviceId)
      .executeTakeFirst();
    return device?.channel ?? device?.site_channel ?? DEFAULT_CHANNEL;
  }
  const site = await context.db
    .selectFrom('sites')
    .select('channel')
    .where('id', '=', machine.siteId)
    .executeTakeFirst();
  return site?.channel ?? DEFAULT_CHANNEL;
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
    const query = new URLSearchParams({ code, channel });
    const url = artifact.url ?? `${server}/v1/agent/downloads/${platform}?${query}`;
    builds.push({ platform, url, sha256: artifact.sha256 });
  }
  return builds;
}

interface ScriptQuery {
  code: string;
  channel?: string | undefined;
}

export function agentDownloadRoutes(context: AppContext) {
  /** What a script for these operating systems says, or 404 when the channel has no build for them. */
  async function script(req: Request, query: ScriptQuery, systems: readonly string[]) {
    const { code } = query;
    const channel = await channelFor(context, query.channel, { siteId: await usableCodeSite(context, code) });
    const server = serverUrl(context, req);
    const platforms = PLATFORMS.filter((platform) => systems.includes(platform.split('-')[0]!));
    const builds = await scriptBuilds(context, server, code, channel, platforms);
    if (builds.length === 0) throw noRelease(channel, systems.join(' or '));
    return { server, code, builds };
  }

  return {
    downloadAgent: s.route(contract.agent.downloadAgent, async ({ params, query, req, res }) => {
      if (!req.agent && query.code === undefined)
        throw problems.unauthenticated(
          'unauthenticated',
          "Send an enrolment code as ?code=…, or the device's access token as Authorization: Bearer <token>.",
        );
      const channel = await channelFor(
        context,
        query.channel,
        req.agent ? { deviceId: req.agent.deviceId } : { siteId: await usableCodeSite(context, query.code!) },
      );
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
      const input = await script(req, query, ['linux', 'macos']);
      res.setHeader('Content-Type', 'text/x-shellscript; charset=utf-8');
      return { status: 200, body: installShellScript(input) };
    }),

    getAgentInstallPowerShellScript: s.route(
      contract.agent.getAgentInstallPowerShellScript,
      async ({ query, req, res }) => {
        const input = await script(req, query, ['windows']);
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        return { status: 200, body: installPowerShellScript(input) };
      },
    ),
  };
}

/**
 * /v1/agent-releases: versions of the agent on release channels, each with a build per platform
 * (an upload streamed into the blob store, or a URL with its SHA-256), downloadable in ranges.
 */
import { initServer } from '@ts-rest/express';
import type { Request } from 'express';
import type { z } from 'zod';
import type { AppContext } from '../context';
import { nowIso } from '../context';
import { contract, type AgentReleaseArtifactLink } from '../generated/contract.gen';
import { paginate } from '../http/pagination';
import { principalOf } from '../http/principal';
import { ApiError, problems } from '../http/problem';
import { whereEqual } from '../store/filters';
import { newId } from '../store/ids';
import type { AgentReleaseArtifactsTable } from '../store/schema';
import { receiveBlob, sendBlob } from './blob-http';
import {
  findArtifact,
  findRelease,
  type Platform,
  presentReleases,
  releaseBlobIfUnused,
  toArtifact,
} from './agent-releases-store';

/** `meridian-agent-1.4.0-linux-amd64`, `meridian-agent-1.4.0-windows-amd64.exe`. */
export const defaultFileName = (version: string, platform: Platform): string =>
  `meridian-agent-${version}-${platform}${platform.startsWith('windows') ? '.exe' : ''}`;

type Content = Pick<AgentReleaseArtifactsTable, 'sha256' | 'size_bytes' | 'source' | 'url'>;

/** The build's content: the uploaded body streamed into the blob store, or the linked URL. */
async function contentOf(
  context: AppContext,
  req: Request,
  declared: string | undefined,
  link: z.infer<typeof AgentReleaseArtifactLink> | undefined,
): Promise<Content> {
  if (req.is('application/octet-stream')) {
    const blob = await receiveBlob(context, req, declared);
    return { sha256: blob.sha256, size_bytes: blob.size, source: 'upload', url: null };
  }
  if (!link)
    throw problems.validation(
      [
        {
          path: '/body',
          message: 'Required: the file as application/octet-stream, or { url, sha256 } as JSON.',
        },
      ],
      'Send the build as the body (application/octet-stream), or a JSON body with its url and sha256.',
    );
  const sha256 = link.sha256.toLowerCase();
  if (declared !== undefined && declared.toLowerCase() !== sha256)
    throw problems.unprocessable(
      'sha256_mismatch',
      `The sha256 query parameter (${declared}) and the body's (${link.sha256}) differ; give it once.`,
    );
  return { sha256, size_bytes: link.size_bytes ?? null, source: 'url', url: link.url };
}

export function agentReleasesHandlers(context: AppContext) {
  const { db } = context;

  const present = async (id: string) =>
    (await presentReleases(context, [await findRelease(context, id)]))[0]!;

  return initServer().router(contract.agentReleases, {
    listAgentReleases: async ({ query }) => {
      const select = whereEqual(db.selectFrom('agent_releases').selectAll(), { channel: query.channel });
      const page = await paginate(query, select, (row) => row, 'id', 'desc');
      return { status: 200, body: { ...page, data: await presentReleases(context, page.data) } };
    },

    createAgentRelease: async ({ body, req }) => {
      const taken = await db
        .selectFrom('agent_releases')
        .select('id')
        .where('version', '=', body.version)
        .executeTakeFirst();
      if (taken)
        throw problems.conflict(
          'release_version_taken',
          `Version ${body.version} is already released (${taken.id}).`,
        );
      const now = nowIso(context);
      const row = {
        id: newId('rel'),
        version: body.version,
        channel: body.channel ?? 'stable',
        notes: body.notes ?? '',
        created_by: principalOf(req).user.id,
        created_at: now,
        updated_at: now,
      };
      await db.insertInto('agent_releases').values(row).execute();
      return { status: 201, body: (await presentReleases(context, [row]))[0]! };
    },

    getAgentRelease: async ({ params }) => ({ status: 200, body: await present(params.release_id) }),

    deleteAgentRelease: async ({ params }) => {
      await findRelease(context, params.release_id);
      const builds = await db
        .selectFrom('agent_release_artifacts')
        .select('sha256')
        .where('release_id', '=', params.release_id)
        .execute();
      await db.deleteFrom('agent_releases').where('id', '=', params.release_id).execute();
      for (const build of builds) await releaseBlobIfUnused(context, build.sha256);
      return { status: 204, body: undefined };
    },

    addAgentReleaseArtifact: async ({ params, query, body, req }) => {
      // Before the body is read: an unknown release stores nothing.
      const release = await findRelease(context, params.release_id);
      const content = await contentOf(context, req, query.sha256, body);
      const previous = await findArtifact(context, release.id, query.platform);
      const now = nowIso(context);
      const row: AgentReleaseArtifactsTable = {
        id: newId('art'),
        release_id: release.id,
        platform: query.platform,
        file_name: query.file_name ?? defaultFileName(release.version, query.platform),
        ...content,
        created_at: now,
      };
      try {
        await db.transaction().execute(async (trx) => {
          await trx
            .deleteFrom('agent_release_artifacts')
            .where('release_id', '=', release.id)
            .where('platform', '=', query.platform)
            .execute();
          await trx.insertInto('agent_release_artifacts').values(row).execute();
          await trx
            .updateTable('agent_releases')
            .set({ updated_at: now })
            .where('id', '=', release.id)
            .execute();
        });
      } catch (error) {
        // The release went away meanwhile: the file just stored is nobody's.
        if (content.source === 'upload') await releaseBlobIfUnused(context, content.sha256);
        throw error;
      }
      if (previous && previous.sha256 !== row.sha256) await releaseBlobIfUnused(context, previous.sha256);
      return { status: 201, body: toArtifact(row) };
    },

    downloadAgentReleaseArtifact: async ({ params, req, res }) => {
      await findRelease(context, params.release_id);
      const artifact = await findArtifact(context, params.release_id, params.platform);
      if (!artifact) throw problems.notFound(`${params.platform} build of agent release`, params.release_id);
      if (artifact.source === 'url')
        throw new ApiError(
          404,
          'artifact_not_stored',
          'Not found',
          `The ${params.platform} build of ${params.release_id} is not stored by Meridian: download it from ${artifact.url}.`,
        );
      return sendBlob(context.blobs, req, res, {
        sha256: artifact.sha256,
        size: Number(artifact.size_bytes),
        fileName: artifact.file_name,
      });
    },
  });
}

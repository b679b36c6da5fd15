/**
 * Agent releases and their builds: reading them for the API, rollouts and downloads, and letting
 * go of a stored file once no release uses it.
 */
import type { z } from 'zod';
import type { AppContext } from '../context';
import type { AgentPlatform, AgentRelease, AgentReleaseArtifact } from '../generated/contract.gen';
import { problems } from '../http/problem';
import type { AgentReleaseArtifactsTable, AgentReleasesTable } from '../store/schema';

export type Platform = z.infer<typeof AgentPlatform>;
export type ReleaseRow = AgentReleasesTable;
export type ArtifactRow = AgentReleaseArtifactsTable;

/** Platforms in the order a release lists its builds. */
export const PLATFORMS: readonly Platform[] = [
  'linux-amd64',
  'linux-arm64',
  'macos-amd64',
  'macos-arm64',
  'windows-amd64',
  'windows-arm64',
];

export const toArtifact = (row: ArtifactRow): z.infer<typeof AgentReleaseArtifact> => ({
  id: row.id,
  platform: row.platform as Platform,
  file_name: row.file_name,
  sha256: row.sha256,
  size_bytes: row.size_bytes === null ? null : Number(row.size_bytes),
  source: row.source,
  url: row.url,
  created_at: row.created_at,
});

/** The releases as the API shows them, each with its builds in platform order. */
export async function presentReleases(
  context: AppContext,
  rows: ReleaseRow[],
): Promise<z.infer<typeof AgentRelease>[]> {
  const artifacts =
    rows.length === 0
      ? []
      : await context.db
          .selectFrom('agent_release_artifacts')
          .selectAll()
          .where(
            'release_id',
            'in',
            rows.map((row) => row.id),
          )
          .execute();
  return rows.map((row) => ({
    id: row.id,
    version: row.version,
    channel: row.channel,
    notes: row.notes,
    artifacts: artifacts
      .filter((artifact) => artifact.release_id === row.id)
      .sort((a, b) => PLATFORMS.indexOf(a.platform as Platform) - PLATFORMS.indexOf(b.platform as Platform))
      .map(toArtifact),
    created_by: row.created_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
  }));
}

export async function findRelease(context: AppContext, id: string): Promise<ReleaseRow> {
  const row = await context.db
    .selectFrom('agent_releases')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) throw problems.notFound('agent release', id);
  return row;
}

/** A release's build for a platform, or undefined. */
export function findArtifact(
  context: AppContext,
  releaseId: string,
  platform: Platform,
): Promise<ArtifactRow | undefined> {
  return context.db
    .selectFrom('agent_release_artifacts')
    .selectAll()
    .where('release_id', '=', releaseId)
    .where('platform', '=', platform)
    .executeTakeFirst();
}

/**
 * The newest release of `channel` that has a build for `platform` (releases are ordered by
 * creation: a newer release of a channel supersedes the older), with that build.
 */
export async function latestBuild(
  context: AppContext,
  channel: string,
  platform: Platform,
): Promise<{ release: ReleaseRow; artifact: ArtifactRow } | undefined> {
  const row = await context.db
    .selectFrom('agent_releases as r')
    .innerJoin('agent_release_artifacts as a', 'a.release_id', 'r.id')
    .select(['r.id'])
    .where('r.channel', '=', channel)
    .where('a.platform', '=', platform)
    .orderBy('r.id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row) return undefined;
  const artifact = await findArtifact(context, row.id, platform);
  return artifact && { release: await findRelease(context, row.id), artifact };
}

/**
 * Deletes a stored file no release build and no installer uses any more (after its last user was
 * replaced or deleted): the blob store is content-addressed, so both may hold the same file.
 */
export async function releaseBlobIfUnused(context: AppContext, sha256: string): Promise<void> {
  const [build, installer] = await Promise.all([
    context.db
      .selectFrom('agent_release_artifacts')
      .select('id')
      .where('sha256', '=', sha256)
      .where('source', '=', 'upload')
      .executeTakeFirst(),
    context.db
      .selectFrom('installers')
      .select('id')
      .where('sha256', '=', sha256)
      .where('size_bytes', 'is not', null)
      .executeTakeFirst(),
  ]);
  if (!build && !installer) await context.blobs.delete(sha256);
}

/**
 * `/v1/rollouts`: agent releases brought to devices in batches (lifecycle/rollouts-store.ts), and
 * the agent's side: reporting how an update went and downloading the build it was asked to run.
 */
import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { contract } from '../generated/contract.gen';
import { paginate } from '../http/pagination';
import { agentOf, principalOf } from '../http/principal';
import { problems } from '../http/problem';
import { whereEqual } from '../store/filters';
import { findArtifact } from './agent-releases-store';
import { sendBlob } from './blob-http';
import {
  cancelRollout,
  createRollout,
  findRollout,
  pauseRollout,
  presentRollout,
  presentRollouts,
  reportUpdate,
  resumeRollout,
  selectRolloutDevices,
  toRolloutDevice,
  updatingRollout,
} from './rollouts-store';

const s = initServer();

export function rolloutsHandlers(context: AppContext) {
  /** Runs a state change on the rollout of the URL and answers it as it is afterwards. */
  const change =
    (step: (context: AppContext, rollout: Awaited<ReturnType<typeof findRollout>>) => Promise<void>) =>
    async ({ params }: { params: { rollout_id: string } }) => {
      await step(context, await findRollout(context, params.rollout_id));
      return {
        status: 200 as const,
        body: await presentRollout(context, await findRollout(context, params.rollout_id)),
      };
    };

  return s.router(contract.rollouts, {
    listRollouts: async ({ query }) => {
      const page = await paginate(
        query,
        whereEqual(context.db.selectFrom('rollouts').selectAll(), { status: query.status }),
        (row) => row,
        'id',
        'desc',
      );
      return { status: 200, body: { ...page, data: await presentRollouts(context, page.data) } };
    },
    createRollout: async ({ body, req }) => {
      const rollout = await createRollout(context, principalOf(req), body);
      return { status: 201, body: await presentRollout(context, rollout) };
    },
    getRollout: async ({ params }) => ({
      status: 200,
      body: await presentRollout(context, await findRollout(context, params.rollout_id)),
    }),
    listRolloutDevices: async ({ params, query, req }) => {
      const rollout = await findRollout(context, params.rollout_id);
      const page = await paginate(
        query,
        selectRolloutDevices(context, principalOf(req), rollout.id, query.state),
        toRolloutDevice,
        'rd.device_id',
      );
      return { status: 200, body: page };
    },
    pauseRollout: change(pauseRollout),
    resumeRollout: change(resumeRollout),
    cancelRollout: change(cancelRollout),
  });
}

export function agentRolloutRoutes(context: AppContext) {
  return {
    reportAgentUpdateResult: s.route(contract.agent.reportAgentUpdateResult, async ({ body, req }) => ({
      status: 200,
      body: toRolloutDevice(await reportUpdate(context, agentOf(req).deviceId, body)),
    })),
    downloadAgentUpdate: s.route(contract.agent.downloadAgentUpdate, async ({ params, req, res }) => {
      const { deviceId } = agentOf(req);
      const rollout = await updatingRollout(context, deviceId);
      const artifact = rollout && (await findArtifact(context, rollout.release_id, params.platform));
      if (!artifact || artifact.source === 'url')
        throw problems.notFound(`${params.platform} build of an agent update for device`, deviceId);
      return sendBlob(context.blobs, req, res, {
        sha256: artifact.sha256,
        size: Number(artifact.size_bytes),
        fileName: artifact.file_name,
      });
    }),
  };
}

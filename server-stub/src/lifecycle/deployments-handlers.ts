/** `/v1/deployments`: installers installed or uninstalled on devices (lifecycle/deployments-store.ts). */
import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { contract } from '../generated/contract.gen';
import { paginate } from '../http/pagination';
import { principalOf } from '../http/principal';
import { whereEqual } from '../store/filters';
import { cancelJob, retryJob, settleJobs } from '../operations/jobs-store';
import {
  type DeploymentRow,
  findDeployment,
  presentDeployments,
  selectDeployments,
  selectDeploymentTargets,
  startDeployment,
  toDeploymentTarget,
} from './deployments-store';

export function deploymentsHandlers(context: AppContext) {
  /** The deployment as it is now, with its counts. */
  async function present(siteIds: readonly string[] | null, id: string) {
    const [body] = await presentDeployments(context, [await findDeployment(context, siteIds, id)]);
    return body!;
  }

  /** Runs a job step (cancel, retry) on the deployment of the URL and answers it as it is afterwards. */
  const change =
    <Status extends 200 | 202>(
      status: Status,
      step: (
        context: AppContext,
        job: DeploymentRow,
        subject: { kind: 'deployment'; id: string },
      ) => Promise<void>,
    ) =>
    async ({ params, req }: { params: { deployment_id: string }; req: Express.Request }) => {
      const { siteIds } = principalOf(req);
      const deployment = await findDeployment(context, siteIds, params.deployment_id);
      await step(context, deployment, { kind: 'deployment', id: deployment.deployment_id });
      return { status, body: await present(siteIds, deployment.deployment_id) };
    };

  return initServer().router(contract.deployments, {
    listDeployments: async ({ query, req }) => {
      await settleJobs(context);
      const page = await paginate(
        query,
        whereEqual(selectDeployments(context, principalOf(req).siteIds), {
          'j.state': query.state,
          'dp.installer_id': query.installer_id,
          'dp.action': query.action,
        }),
        (row) => row,
        'j.id',
        'desc',
      );
      return { status: 200, body: { ...page, data: await presentDeployments(context, page.data) } };
    },

    createDeployment: async ({ body, req }) => {
      const principal = principalOf(req);
      const id = await startDeployment(context, principal, body);
      return { status: 201, body: await present(principal.siteIds, id) };
    },

    getDeployment: async ({ params, req }) => ({
      status: 200,
      body: await present(principalOf(req).siteIds, params.deployment_id),
    }),

    listDeploymentTargets: async ({ params, query, req }) => {
      const deployment = await findDeployment(context, principalOf(req).siteIds, params.deployment_id);
      const body = await paginate(
        query,
        selectDeploymentTargets(context, deployment, query.state),
        toDeploymentTarget(deployment.action),
        't.device_id',
      );
      return { status: 200, body };
    },

    cancelDeployment: change(200, cancelJob),
    retryDeployment: change(202, retryJob),
  });
}

/**
 * Deployments: an installer installed or uninstalled on devices. Each runs as a job
 * (operations/jobs-store.ts) of one `install_software` or `uninstall_software` command per
 * target, so targets, cancelling, retrying, settling and the job events are the jobs'; a
 * deployment adds the installer it deploys and shows each target's command as the stage its
 * agent reports (downloading, installing, uninstalling).
 */
import type { ExpressionBuilder } from 'kysely';
import type { z } from 'zod';
import type { AppContext } from '../context';
import type {
  Deployment,
  DeploymentCounts,
  DeploymentCreate,
  DeploymentTarget,
} from '../generated/contract.gen';
import type { Principal } from '../http/principal';
import { problems } from '../http/problem';
import { newId } from '../store/ids';
import type { Database, DeploymentsTable, InstallersTable, JobRow } from '../store/schema';
import { oneOrNotFound } from '../store/found';
import { selectJobs, selectTargets, settleJobs, startJob, toTargetResult } from '../operations/jobs-store';

export type DeploymentBody = z.infer<typeof Deployment>;
export type DeploymentTargetState = z.infer<typeof DeploymentTarget>['state'];
type Counts = z.infer<typeof DeploymentCounts>;
type Action = DeploymentsTable['action'];
type Stage = 'downloading' | 'installing' | 'uninstalling';

/** The stage a running command is at before its agent names one. */
const FIRST_STAGE: Record<Action, Stage> = { install: 'downloading', uninstall: 'uninstalling' };

/** A deployment's row with its job's. */
export type DeploymentRow = JobRow & {
  deployment_id: string;
  installer_id: string;
  software_name: string;
  software_version: string;
  platform: DeploymentsTable['platform'];
  action: Action;
};

/** Deployments (with their jobs) whose every target is on one of `siteIds` (all when null). */
export function selectDeployments(context: AppContext, siteIds: readonly string[] | null) {
  return selectJobs(context, siteIds)
    .innerJoin('deployments as dp', 'dp.job_id', 'j.id')
    .select([
      'dp.id as deployment_id',
      'dp.installer_id',
      'dp.software_name',
      'dp.software_version',
      'dp.platform',
      'dp.action',
    ]);
}

export async function findDeployment(
  context: AppContext,
  siteIds: readonly string[] | null,
  id: string,
): Promise<DeploymentRow> {
  await settleJobs(
    context,
    (await context.db.selectFrom('deployments').select('job_id').where('id', '=', id).execute()).map(
      (row) => row.job_id,
    ),
  );
  return oneOrNotFound(selectDeployments(context, siteIds).where('dp.id', '=', id), 'deployment', id);
}

/** The state a target of a deployment doing `action` is in, from its command. */
function targetState(
  action: Action,
  row: { command_id: string | null; status: string | null; progress_stage: Stage | null },
): DeploymentTargetState {
  if (row.command_id === null) return 'unsupported';
  switch (row.status) {
    case 'pending':
    case 'delivered':
      return 'pending';
    case 'running':
      return row.progress_stage ?? FIRST_STAGE[action];
    case 'expired':
      return 'failed';
    default:
      return row.status as 'succeeded' | 'failed' | 'cancelled';
  }
}

const emptyCounts = (): Counts => ({
  total: 0,
  pending: 0,
  downloading: 0,
  installing: 0,
  uninstalling: 0,
  succeeded: 0,
  failed: 0,
  cancelled: 0,
  unsupported: 0,
});

/** The counts of targets by state of each deployment in `rows`, by job ID. */
async function countTargets(
  context: AppContext,
  rows: readonly DeploymentRow[],
): Promise<Map<string, Counts>> {
  const counts = new Map(rows.map((row) => [row.id, emptyCounts()]));
  if (rows.length === 0) return counts;
  const actions = new Map(rows.map((row) => [row.id, row.action]));
  const groups = await context.db
    .selectFrom('job_targets as t')
    .leftJoin('commands as c', 'c.id', 't.command_id')
    .select(['t.job_id', 't.command_id', 'c.status', 'c.progress_stage'])
    .select((eb) => eb.fn.countAll().as('n'))
    .where(
      't.job_id',
      'in',
      rows.map((row) => row.id),
    )
    .groupBy(['t.job_id', 't.command_id', 'c.status', 'c.progress_stage'])
    .execute();
  for (const group of groups) {
    const job = counts.get(group.job_id)!;
    job[targetState(actions.get(group.job_id)!, group)] += Number(group.n);
    job.total += Number(group.n);
  }
  return counts;
}

function toDeployment(row: DeploymentRow, counts: Counts): DeploymentBody {
  return {
    id: row.deployment_id,
    name: row.name,
    installer_id: row.installer_id,
    software_name: row.software_name,
    software_version: row.software_version,
    platform: row.platform,
    action: row.action,
    state: row.state,
    job_id: row.id,
    target: JSON.parse(row.target) as DeploymentBody['target'],
    timeout_seconds: row.timeout_seconds,
    attempt: row.attempt,
    counts,
    created_by: row.created_by,
    created_at: row.created_at,
    finished_at: row.finished_at,
    cancelled_at: row.cancelled_at,
  };
}

/** The deployments of `rows` with their counts. */
export async function presentDeployments(
  context: AppContext,
  rows: readonly DeploymentRow[],
): Promise<DeploymentBody[]> {
  const counts = await countTargets(context, rows);
  return rows.map((row) => toDeployment(row, counts.get(row.id)!));
}

/** The command every target of a deployment of `installer` gets. */
function deploymentCommand(installer: InstallersTable, action: Action) {
  const detection = JSON.parse(installer.detection) as { name: string; version?: string };
  const download = { installer_id: installer.id, url: installer.url, sha256: installer.sha256 };
  if (action === 'install')
    return {
      type: 'install_software',
      params: {
        ...download,
        name: installer.name,
        version: installer.version,
        arguments: JSON.parse(installer.install_arguments) as string[],
        detection,
      },
    };
  return {
    type: 'uninstall_software',
    params: {
      ...download,
      name: detection.name,
      ...(detection.version === undefined ? {} : { version: detection.version }),
      arguments: JSON.parse(installer.uninstall_arguments) as string[],
    },
  };
}

/**
 * Starts a deployment: a job of the installer's command on the target's devices of its platform,
 * with the deployment's row written in the job's transaction. Throws the 400/422 problems of
 * `POST /v1/deployments`.
 */
export async function startDeployment(
  context: AppContext,
  principal: Principal,
  request: z.infer<typeof DeploymentCreate>,
): Promise<string> {
  const installer = await context.db
    .selectFrom('installers')
    .selectAll()
    .where('id', '=', request.installer_id)
    .executeTakeFirst();
  if (!installer)
    throw problems.unprocessable('unknown_installer', `No installer ${request.installer_id} exists.`);
  const action = request.action ?? 'install';
  const id = newId('dpl');
  await startJob(
    context,
    {
      createdBy: principal.user.id,
      siteIds: principal.siteIds,
      written: async (trx, job) => {
        await trx
          .insertInto('deployments')
          .values({
            id,
            job_id: job.id,
            installer_id: installer.id,
            software_name: installer.name,
            software_version: installer.version,
            platform: installer.platform,
            action,
          })
          .execute();
      },
    },
    {
      name:
        request.name ??
        `${action === 'install' ? 'Install' : 'Uninstall'} ${installer.name} ${installer.version}`,
      command: deploymentCommand(installer, action),
      target: request.target,
      timeout_seconds: request.timeout_seconds,
      platform: installer.platform,
    },
  );
  return id;
}

/** Targets of a deployment doing `action` whose state is `state`. */
function whereState(action: Action, state: DeploymentTargetState) {
  return (
    eb: ExpressionBuilder<Database & { c: Database['commands']; t: Database['job_targets'] }, 'c' | 't'>,
  ) => {
    switch (state) {
      case 'unsupported':
        return eb('t.command_id', 'is', null);
      case 'pending':
        return eb('c.status', 'in', ['pending', 'delivered']);
      case 'failed':
        return eb('c.status', 'in', ['failed', 'expired']);
      case 'succeeded':
      case 'cancelled':
        return eb('c.status', '=', state);
      default: {
        const stage = eb('c.progress_stage', '=', state);
        return eb.and([
          eb('c.status', '=', 'running'),
          state === FIRST_STAGE[action] ? eb.or([stage, eb('c.progress_stage', 'is', null)]) : stage,
        ]);
      }
    }
  };
}

/** A deployment's targets (in `state`, when given), for `GET /v1/deployments/{id}/targets`. */
export function selectDeploymentTargets(
  context: AppContext,
  deployment: DeploymentRow,
  state: DeploymentTargetState | undefined,
) {
  return selectTargets(context, deployment.id, undefined).$if(state !== undefined, (qb) =>
    qb.where(whereState(deployment.action, state!)),
  );
}

type TargetRow = Parameters<typeof toTargetResult>[0];

export const toDeploymentTarget =
  (action: Action) =>
  (row: TargetRow): z.infer<typeof DeploymentTarget> => {
    const { state: _jobState, ...result } = toTargetResult(row);
    return {
      ...result,
      state: targetState(action, row),
      progress_percent: row.progress_percent,
      progress_message: row.progress_message,
    };
  };

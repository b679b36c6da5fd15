/** The agent's side of commands: long-poll for work, report progress, report the result. */
import type { Response } from 'express';
import { initServer } from '@ts-rest/express';
import type { AppContext } from '../context';
import { contract } from '../generated/contract.gen';
import { agentOf, type AgentPrincipal } from '../http/principal';
import { emitEvent } from '../observe/events-store';
import {
  deliverCommands,
  deviceCommandsTopic,
  expireDueCommands,
  transitionLive,
} from '../operations/commands-store';
import type { CommandRow } from '../store/schema';
import { oneOrNotFound } from '../store/found';

const s = initServer();

/**
 * A signal that fires when the response closes: when it is sent, or before that if the client
 * went away — so a long-poll stops waiting, and delivers nothing, for nobody.
 */
export function closed(res: Response): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => controller.abort());
  return controller.signal;
}

export function agentCommandRoutes(context: AppContext) {
  /** The device's own command, or 404: an agent cannot touch another device's work. */
  async function ownCommand(req: { agent?: AgentPrincipal }, commandId: string): Promise<CommandRow> {
    return oneOrNotFound(
      context.db
        .selectFrom('commands')
        .selectAll()
        .where('id', '=', commandId)
        .where('device_id', '=', agentOf(req).deviceId),
      'command',
      commandId,
    );
  }

  return {
    pollAgentCommands: s.route(contract.agent.pollAgentCommands, async ({ query, req, res }) => {
      const { deviceId } = agentOf(req);
      await expireDueCommands(context);
      const delivered =
        query.wait_seconds === 0
          ? await deliverCommands(context, deviceId, query.limit)
          : await context.signals.waitFor(
              deviceCommandsTopic(deviceId),
              query.wait_seconds * 1000,
              context.timers,
              'agent-commands',
              () => deliverCommands(context, deviceId, query.limit),
              (rows) => rows.length > 0,
              AbortSignal.any([closed(res), context.draining]),
            );
      return {
        status: 200,
        body: {
          data: delivered.map((row) => ({
            id: row.id,
            type: row.type,
            params: JSON.parse(row.params) as Record<string, unknown>,
            timeout_seconds: row.timeout_seconds,
            expires_at: row.expires_at,
          })),
        },
      };
    }),

    reportAgentCommandProgress: s.route(
      contract.agent.reportAgentCommandProgress,
      async ({ params, body, req }) => {
        const command = await ownCommand(req, params.command_id);
        const updated = await transitionLive(context, command, {
          status: 'running',
          started_at: command.started_at ?? context.now().toISOString(),
          ...(body.percent === undefined ? {} : { progress_percent: body.percent }),
          ...(body.message === undefined ? {} : { progress_message: body.message }),
          ...(body.stage === undefined ? {} : { progress_stage: body.stage }),
        });
        return { status: 200, body: { id: updated.id, status: updated.status } };
      },
    ),

    reportAgentCommandResult: s.route(
      contract.agent.reportAgentCommandResult,
      async ({ params, body, req }) => {
        const command = await ownCommand(req, params.command_id);
        const now = context.now().toISOString();
        const result = {
          exit_code: body.exit_code ?? null,
          stdout: body.stdout ?? '',
          stderr: body.stderr ?? '',
          stdout_truncated: body.stdout_truncated ?? false,
          stderr_truncated: body.stderr_truncated ?? false,
          duration_ms: body.duration_ms,
          output: body.output ?? null,
          error: body.error ?? null,
        };
        const updated = await transitionLive(context, command, {
          status: body.status,
          finished_at: now,
          started_at: command.started_at ?? command.delivered_at ?? now,
          result: JSON.stringify(result),
        });
        if (body.status === 'failed') {
          const { siteId, deviceId } = agentOf(req);
          await emitEvent(context, {
            type: 'command.failed',
            severity: 'error',
            siteId,
            deviceId,
            message:
              `Command ${command.type} failed${result.exit_code === null ? '' : ` with exit code ${result.exit_code}`}${result.error ? `: ${result.error}` : '.'}`.slice(
                0,
                1000,
              ),
            data: { command_id: command.id, command_type: command.type, exit_code: result.exit_code },
          });
        }
        return { status: 200, body: { id: updated.id, status: updated.status } };
      },
    ),
  };
}

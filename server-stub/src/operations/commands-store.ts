/**
 * Commands: their rows, who may see them, and the transitions every path shares — expiry,
 * delivery to the agent, progress, results and cancellation. Each transition is a conditional
 * update on the current status, so a command never moves twice even when an operator, the
 * agent and the sweep act at once; whoever changed a command signals its topic afterwards.
 */
import type { ExpressionBuilder, Kysely } from 'kysely';
import type { z } from 'zod';
import type { AppContext } from '../context';
import type { Command, CommandResult } from '../generated/contract.gen';
import { visibleSiteIds, type Principal } from '../http/principal';
import { problems } from '../http/problem';
import { announceEvents, insertEvent } from '../observe/events-store';
import type { CommandRow, CommandStatus, Database } from '../store/schema';
import { oneOrNotFound } from '../store/found';
import { newId } from '../store/ids';

export type CommandBody = z.infer<typeof Command>;

export const LIVE_STATUSES = ['pending', 'delivered', 'running'] as const satisfies readonly CommandStatus[];
export const isFinal = (status: CommandStatus): boolean =>
  !(LIVE_STATUSES as readonly string[]).includes(status);

/** Signalled when a command changes (operators waiting on it). */
export const commandTopic = (commandId: string): string => `command:${commandId}`;
/** Signalled when a command is queued for a device (its agent long-polling). */
export const deviceCommandsTopic = (deviceId: string): string => `device-commands:${deviceId}`;
/** Signalled when any command changes (jobs settling when their last command finishes). */
export const COMMANDS_CHANGED_TOPIC = 'commands-changed';

/** Wakes whoever waits on the command, and the jobs. Call after the change is committed. */
export function commandChanged(context: AppContext, commandId: string): void {
  context.signals.notify(commandTopic(commandId));
  context.signals.notify(COMMANDS_CHANGED_TOPIC);
}

/** A new pending command, due `timeoutSeconds` from now. */
export function newCommandRow(
  context: AppContext,
  command: {
    deviceId: string;
    type: string;
    params: Record<string, unknown>;
    timeoutSeconds: number;
    createdBy: string | null;
    jobId?: string;
  },
): CommandRow {
  const now = context.now();
  return {
    id: newId('cmd'),
    device_id: command.deviceId,
    type: command.type,
    params: JSON.stringify(command.params),
    status: 'pending',
    timeout_seconds: command.timeoutSeconds,
    created_by: command.createdBy,
    created_at: now.toISOString(),
    delivered_at: null,
    started_at: null,
    finished_at: null,
    expires_at: new Date(now.getTime() + command.timeoutSeconds * 1000).toISOString(),
    progress_percent: null,
    progress_message: null,
    progress_stage: null,
    result: null,
    job_id: command.jobId ?? null,
  };
}

export type CommandWithSite = CommandRow & { site_id: string };

/**
 * Queues a command for the device (a row like newCommandRow's, its agent woken) and waits up to
 * `waitSeconds` for it to finish; returns it as it stands then.
 */
export async function sendCommand(
  context: AppContext,
  device: { id: string; site_id: string },
  command: {
    type: string;
    params: Record<string, unknown>;
    timeoutSeconds: number;
    createdBy: string | null;
  },
  waitSeconds: number,
): Promise<CommandWithSite> {
  const row = { ...newCommandRow(context, { deviceId: device.id, ...command }), site_id: device.site_id };
  const { site_id: _site, ...stored } = row;
  await context.db.insertInto('commands').values(stored).execute();
  context.signals.notify(deviceCommandsTopic(device.id));
  return waitForCommand(context, row, waitSeconds);
}

/** The command once it finished, or as it stands after `waitSeconds` (at once when 0). */
export async function waitForCommand(
  context: AppContext,
  command: CommandWithSite,
  waitSeconds: number,
): Promise<CommandWithSite> {
  if (waitSeconds === 0 || isFinal(command.status)) return command;
  return context.signals.waitFor(
    commandTopic(command.id),
    waitSeconds * 1000,
    context.timers,
    'command-wait',
    async () => (await readCommand(context, command.id)) ?? command,
    (current) => isFinal(current.status),
    context.draining,
  );
}

/** The answer to an operation that sent a command: 200 once it finished, else 202. */
export function answerCommand(command: CommandWithSite) {
  return { status: isFinal(command.status) ? 200 : 202, body: toCommand(command) } as const;
}

export function toCommand(row: CommandWithSite): CommandBody {
  return {
    id: row.id,
    device_id: row.device_id,
    site_id: row.site_id,
    type: row.type,
    params: JSON.parse(row.params) as Record<string, unknown>,
    status: row.status,
    timeout_seconds: row.timeout_seconds,
    created_by: row.created_by,
    created_at: row.created_at,
    delivered_at: row.delivered_at,
    started_at: row.started_at,
    finished_at: row.finished_at,
    expires_at: row.expires_at,
    progress_percent: row.progress_percent,
    progress_message: row.progress_message,
    result: row.result === null ? null : (JSON.parse(row.result) as z.infer<typeof CommandResult>),
  };
}

/** Commands of devices on the principal's sites, each with its device's site. */
export function selectCommands(context: AppContext, principal: Principal) {
  const siteIds = visibleSiteIds(principal);
  return context.db
    .selectFrom('commands as c')
    .innerJoin('devices as d', 'd.id', 'c.device_id')
    .selectAll('c')
    .select('d.site_id')
    .$if(siteIds !== null, (qb) => qb.where('d.site_id', 'in', siteIds!));
}

export async function findVisibleCommand(
  context: AppContext,
  principal: Principal,
  id: string,
): Promise<CommandWithSite> {
  return oneOrNotFound(selectCommands(context, principal).where('c.id', '=', id), 'command', id);
}

export async function readCommand(context: AppContext, id: string): Promise<CommandWithSite | undefined> {
  return context.db
    .selectFrom('commands as c')
    .innerJoin('devices as d', 'd.id', 'c.device_id')
    .selectAll('c')
    .select('d.site_id')
    .where('c.id', '=', id)
    .executeTakeFirst();
}

/**
 * Expires every live command past its deadline, writing a `command.expired` event for each.
 * Reads call it first, so a command shows as expired from its deadline on, sweep or no sweep.
 */
export async function expireDueCommands(context: AppContext): Promise<number> {
  const now = context.now().toISOString();
  const expired = await context.db
    .updateTable('commands')
    .set({ status: 'expired', finished_at: now })
    .where('status', 'in', LIVE_STATUSES)
    .where('expires_at', '<=', now)
    .returning(['id', 'device_id', 'type', 'status'])
    .execute();
  if (expired.length === 0) return 0;
  const devices = await context.db
    .selectFrom('devices')
    .select(['id', 'site_id', 'name'])
    .where(
      'id',
      'in',
      expired.map((c) => c.device_id),
    )
    .execute();
  for (const command of expired) {
    const device = devices.find((d) => d.id === command.device_id);
    await insertEvent(context.db, context, {
      type: 'command.expired',
      severity: 'warning',
      siteId: device?.site_id ?? null,
      deviceId: command.device_id,
      message: `Command ${command.type} on ${device?.name ?? command.device_id} did not finish in time.`,
      data: { command_id: command.id, command_type: command.type },
    });
    commandChanged(context, command.id);
  }
  announceEvents(context);
  return expired.length;
}

/** Why a live-only transition was refused, from the command's current status. */
function notLive(row: Pick<CommandRow, 'id' | 'status'>) {
  const code =
    row.status === 'cancelled'
      ? 'command_cancelled'
      : row.status === 'expired'
        ? 'command_expired'
        : 'command_finished';
  return problems.conflict(code, `Command ${row.id} is ${row.status}; it can no longer change.`);
}

/** Hands up to `limit` pending commands of the device to its agent, oldest first. */
export async function deliverCommands(
  context: AppContext,
  deviceId: string,
  limit: number,
): Promise<CommandRow[]> {
  const now = context.now().toISOString();
  const waiting = await context.db
    .selectFrom('commands')
    .select('id')
    .where('device_id', '=', deviceId)
    .where('status', '=', 'pending')
    .where('expires_at', '>', now)
    .orderBy('id')
    .limit(limit)
    .execute();
  if (waiting.length === 0) return [];
  const delivered = await context.db
    .updateTable('commands')
    .set({ status: 'delivered', delivered_at: now })
    .where(
      'id',
      'in',
      waiting.map((c) => c.id),
    )
    .where('status', '=', 'pending')
    .returningAll()
    .execute();
  return delivered.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** How many commands wait for the device at `now`, as a subquery (the heartbeat's update returns it). */
export function pendingCommands(eb: ExpressionBuilder<Database, 'devices'>, deviceId: string, now: string) {
  return eb
    .selectFrom('commands')
    .select((inner) => inner.fn.countAll().as('n'))
    .where('commands.device_id', '=', deviceId)
    .where('commands.status', '=', 'pending')
    .where('commands.expires_at', '>', now);
}

/**
 * Moves a live command to `changes.status` (or keeps it live, for progress) if it is still
 * live; otherwise throws the 409 its status calls for. Returns the updated row.
 */
export async function transitionLive(
  context: AppContext,
  row: Pick<CommandRow, 'id'>,
  changes: Partial<CommandRow>,
): Promise<CommandRow> {
  const updated = await context.db
    .updateTable('commands')
    .set(changes)
    .where('id', '=', row.id)
    .where('status', 'in', LIVE_STATUSES)
    .where('expires_at', '>', context.now().toISOString())
    .returningAll()
    .executeTakeFirst();
  if (!updated) {
    await expireDueCommands(context);
    const current = await context.db
      .selectFrom('commands')
      .select(['id', 'status'])
      .where('id', '=', row.id)
      .executeTakeFirstOrThrow();
    throw notLive(current);
  }
  commandChanged(context, row.id);
  return updated;
}

/** How many commands there are in each status (the `meridian_commands` metric, read at each scrape). */
export async function countCommandsByStatus(
  db: Kysely<Database>,
): Promise<{ state: string; count: number }[]> {
  const rows = await db
    .selectFrom('commands')
    .select(['status', (eb) => eb.fn.countAll<number | string>().as('count')])
    .groupBy('status')
    .execute();
  return rows.map((row) => ({ state: row.status, count: Number(row.count) }));
}

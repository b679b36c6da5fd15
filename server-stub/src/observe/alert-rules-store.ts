/**
 * Alert rules: how they are stored and presented, the parameters each kind takes, and the one
 * judgement both the preview and the evaluator make — for which devices a rule's condition
 * holds now.
 */
import type { z } from 'zod';
import type { AppContext } from '../context';
import { deviceFilterCondition } from '../fleet/device-filter-sql';
import { savedFilterExpression } from '../fleet/device-filters-store';
import { flushMetricSamples } from '../fleet/metric-samples';
import { assertDeviceType } from '../fleet/device-type-catalogue';
import type { AlertRule, AlertRuleCreate, AlertRuleScope } from '../generated/contract.gen';
import { problems, type FieldIssue } from '../http/problem';
import { DOWN_STATES } from '../operations/process-states';
import type { AlertRuleRow } from '../store/schema';

export type AlertRuleBody = z.infer<typeof AlertRule>;
type Scope = z.infer<typeof AlertRuleScope>;
/** What a rule says, whether stored or only previewed. */
export type RuleSettings = Omit<
  AlertRuleBody,
  'id' | 'name' | 'description' | 'enabled' | 'created_at' | 'updated_at'
>;

export const DEFAULT_DURATION_MINUTES = 5;

export function toAlertRule(row: AlertRuleRow): AlertRuleBody {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    kind: row.kind,
    severity: row.severity,
    enabled: row.enabled === 1,
    duration_minutes: row.duration_minutes,
    scope: JSON.parse(row.scope) as Scope,
    excluded_device_ids: JSON.parse(row.excluded_device_ids) as string[],
    metric: row.metric,
    threshold_percent: row.threshold_percent === null ? null : Number(row.threshold_percent),
    threshold_overrides: JSON.parse(row.threshold_overrides) as AlertRuleBody['threshold_overrides'],
    event_type: row.event_type,
    event_severity: row.event_severity,
    event_text: row.event_text,
    process_name: row.process_name,
    process_id: row.process_id,
    channel_ids: JSON.parse(row.channel_ids) as string[],
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** The settings of a create (or preview) body, with the defaults filled in. */
export function settingsOf(body: z.infer<typeof AlertRuleCreate>): RuleSettings {
  return {
    kind: body.kind,
    severity: body.severity ?? 'warning',
    duration_minutes: body.duration_minutes ?? DEFAULT_DURATION_MINUTES,
    scope: body.scope ?? {},
    excluded_device_ids: body.excluded_device_ids ?? [],
    metric: body.metric ?? null,
    threshold_percent: body.threshold_percent ?? null,
    threshold_overrides: body.threshold_overrides ?? [],
    event_type: body.event_type ?? null,
    event_severity: body.event_severity ?? null,
    event_text: body.event_text ?? null,
    process_name: body.process_name ?? null,
    process_id: body.process_id ?? null,
    channel_ids: body.channel_ids ?? [],
  };
}

const METRIC_PARAMETERS = ['metric', 'threshold_percent'] as const;
const EVENT_PARAMETERS = ['event_type', 'event_severity', 'event_text'] as const;
const PROCESS_PARAMETERS = ['process_name', 'process_id'] as const;

/** The parameters a rule of its kind needs and the ones it must not have (422 naming each). */
function parameterIssues(rule: RuleSettings): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const refuse = (field: string) =>
    issues.push({ path: `/body/${field}`, message: `A ${rule.kind} rule does not take ${field}.` });
  const need = (field: string, message: string) => issues.push({ path: `/body/${field}`, message });
  if (rule.kind === 'metric_threshold') {
    for (const field of METRIC_PARAMETERS)
      if (rule[field] === null) need(field, `A metric_threshold rule needs ${field}.`);
  } else {
    for (const field of METRIC_PARAMETERS) if (rule[field] !== null) refuse(field);
    if (rule.threshold_overrides.length > 0) refuse('threshold_overrides');
  }
  if (rule.kind === 'event_match') {
    if (EVENT_PARAMETERS.every((field) => rule[field] === null))
      need(
        'event_type',
        'An event_match rule needs at least one of event_type, event_severity and event_text.',
      );
  } else {
    for (const field of EVENT_PARAMETERS) if (rule[field] !== null) refuse(field);
  }
  if (rule.kind === 'process_down') {
    const given = PROCESS_PARAMETERS.filter((field) => rule[field] !== null);
    if (given.length !== 1)
      need('process_name', 'A process_down rule needs exactly one of process_name and process_id.');
  } else {
    for (const field of PROCESS_PARAMETERS) if (rule[field] !== null) refuse(field);
  }
  return issues;
}

/**
 * The rules a rule must satisfy whole, at creation, update and preview: its kind's parameters,
 * and sites, devices, device types, notification channels and a saved device filter that exist
 * (the filter not archived when `newScope`: a rule keeps a filter archived after it was set).
 */
export async function assertValidRule(
  context: AppContext,
  rule: RuleSettings,
  { newScope }: { newScope: boolean } = { newScope: true },
): Promise<void> {
  const issues = parameterIssues(rule);
  if (issues.length > 0)
    throw problems.unprocessable(
      'rule_parameters_invalid',
      `The parameters do not fit a ${rule.kind} rule: see errors.`,
      issues,
    );
  if (rule.scope.filter_id !== undefined)
    await savedFilterExpression(context, rule.scope.filter_id, { forNewWork: newScope });
  for (const type of rule.scope.device_types ?? []) assertDeviceType(type);
  await assertAllExist(context, 'site', rule.scope.site_ids ?? []);
  await assertAllExist(context, 'device', [
    ...(rule.scope.device_ids ?? []),
    ...rule.excluded_device_ids,
    ...rule.threshold_overrides.map((override) => override.device_id),
  ]);
  await assertAllExist(context, 'notification channel', rule.channel_ids);
  await assertAllExist(context, 'monitored process', rule.process_id === null ? [] : [rule.process_id]);
}

const TABLES = {
  site: 'sites',
  device: 'devices',
  'notification channel': 'notification_channels',
  'monitored process': 'monitored_processes',
} as const;

async function assertAllExist(context: AppContext, what: keyof typeof TABLES, ids: readonly string[]) {
  if (ids.length === 0) return;
  const unique = [...new Set(ids)];
  const found = new Set(
    (await context.db.selectFrom(TABLES[what]).select('id').where('id', 'in', unique).execute()).map(
      (row) => row.id,
    ),
  );
  const unknown = unique.filter((id) => !found.has(id));
  if (unknown.length > 0) throw problems.unknownReference(what, unknown);
}

export interface FiringDevice {
  device_id: string;
  site_id: string;
  name: string;
  /** `process_down`: the name of the process that is down. */
  process_name?: string;
}

/**
 * The devices in the rule's scope (of `siteIds`, or every site when null; its saved filter
 * evaluated in SQL now) for which its condition holds at the context's now:
 * - `device_offline`: offline, with no heartbeat for `duration_minutes`;
 * - `metric_threshold`: the metric was above the threshold (or the device's override) in every
 *   sample since the last one at or before `duration_minutes` ago, and the agent is still
 *   reporting (a sample within two heartbeat intervals);
 * - `process_down`: the watched process (by name or ID) was last reported down (starting,
 *   stopped or crashed) and has not been running or idle for `duration_minutes`, and the agent
 *   is still reporting it (a report within two heartbeat intervals: a device that went quiet is
 *   for `device_offline` rules);
 * - `event_match`: a matching event of the device within `duration_minutes` (incident events
 *   never match).
 */
export async function firingDevices(
  context: AppContext,
  rule: RuleSettings,
  siteIds: readonly string[] | null,
): Promise<FiringDevice[]> {
  const now = context.now().getTime();
  const windowStart = new Date(now - rule.duration_minutes * 60_000).toISOString();
  const { scope } = rule;
  const filtered =
    scope.filter_id === undefined
      ? undefined
      : await deviceFilterCondition(
          context,
          await savedFilterExpression(context, scope.filter_id, { forNewWork: false }),
          '/body/scope/filter_id',
        );
  const devices = (
    await context.db
      .selectFrom('devices')
      .select(['id', 'site_id', 'name', 'tags', 'status', 'last_seen_at'])
      .$if(siteIds !== null, (qb) => qb.where('site_id', 'in', siteIds!.length > 0 ? siteIds! : ['']))
      .$if(scope.site_ids !== undefined, (qb) => qb.where('site_id', 'in', [...scope.site_ids!, '']))
      .$if(scope.device_types !== undefined, (qb) =>
        qb.where('device_type', 'in', [...scope.device_types!, '']),
      )
      .$if(scope.device_ids !== undefined, (qb) => qb.where('id', 'in', [...scope.device_ids!, '']))
      .$if(rule.excluded_device_ids.length > 0, (qb) => qb.where('id', 'not in', rule.excluded_device_ids))
      .$if(filtered !== undefined, (qb) => qb.where(filtered!))
      .orderBy('id')
      .execute()
  ).filter(
    (device) =>
      scope.tags === undefined ||
      (JSON.parse(device.tags) as string[]).some((tag) => scope.tags!.includes(tag)),
  );
  if (devices.length === 0) return [];
  const ids = devices.map((device) => device.id);
  let holds: (device: (typeof devices)[number]) => boolean;
  let downProcesses = new Map<string, string>();
  if (rule.kind === 'device_offline') {
    holds = (device) =>
      device.status === 'offline' && device.last_seen_at !== null && device.last_seen_at <= windowStart;
  } else if (rule.kind === 'metric_threshold') {
    const above = await sustainedAbove(context, rule, ids, windowStart);
    holds = (device) => above.has(device.id);
  } else if (rule.kind === 'process_down') {
    downProcesses = await processesDown(context, rule, ids, windowStart);
    holds = (device) => downProcesses.has(device.id);
  } else {
    const matched = await matchingEventDevices(context, rule, ids, windowStart);
    holds = (device) => matched.has(device.id);
  }
  return devices.filter(holds).map((device) => ({
    device_id: device.id,
    site_id: device.site_id,
    name: device.name,
    ...(downProcesses.has(device.id) ? { process_name: downProcesses.get(device.id)! } : {}),
  }));
}

/** The devices whose watched process is down since before `windowStart`, with its name. */
async function processesDown(
  context: AppContext,
  rule: RuleSettings,
  deviceIds: readonly string[],
  windowStart: string,
): Promise<Map<string, string>> {
  const graceMs = 2 * context.fleet.heartbeatIntervalSeconds * 1000;
  const down = await context.db
    .selectFrom('process_states')
    .innerJoin('monitored_processes', 'monitored_processes.id', 'process_states.process_id')
    .select(['process_states.device_id', 'monitored_processes.name'])
    .where('process_states.device_id', 'in', deviceIds)
    .$if(rule.process_id !== null, (qb) => qb.where('process_states.process_id', '=', rule.process_id!))
    .$if(rule.process_name !== null, (qb) =>
      qb.where('monitored_processes.name_key', '=', rule.process_name!.toLowerCase()),
    )
    .where('process_states.state', 'in', DOWN_STATES)
    .where('process_states.state_changed_at', '<=', windowStart)
    .where('process_states.reported_at', '>=', new Date(context.now().getTime() - graceMs).toISOString())
    .execute();
  return new Map(down.map((row) => [row.device_id, row.name]));
}

async function sustainedAbove(
  context: AppContext,
  rule: RuleSettings,
  deviceIds: readonly string[],
  windowStart: string,
): Promise<Set<string>> {
  const metric = rule.metric!;
  const graceMs = 2 * context.fleet.heartbeatIntervalSeconds * 1000;
  const now = context.now().getTime();
  await flushMetricSamples(context);
  const samples = await context.db
    .selectFrom('device_metrics')
    .select(['device_id', 'recorded_at', metric])
    .where('device_id', 'in', deviceIds)
    .where('recorded_at', '>=', new Date(Date.parse(windowStart) - graceMs).toISOString())
    .orderBy('recorded_at')
    .execute();
  const overrides = new Map(rule.threshold_overrides.map((o) => [o.device_id, o.threshold_percent]));
  const byDevice = new Map<string, typeof samples>();
  for (const sample of samples)
    byDevice.set(sample.device_id, [...(byDevice.get(sample.device_id) ?? []), sample]);
  const firing = new Set<string>();
  for (const [deviceId, series] of byDevice) {
    const threshold = overrides.get(deviceId) ?? rule.threshold_percent!;
    const anchor = series.findLastIndex((sample) => sample.recorded_at <= windowStart);
    const latest = series.at(-1)!;
    if (
      anchor >= 0 &&
      Date.parse(latest.recorded_at) >= now - graceMs &&
      series.slice(anchor).every((sample) => Number(sample[metric]) > threshold)
    )
      firing.add(deviceId);
  }
  return firing;
}

async function matchingEventDevices(
  context: AppContext,
  rule: RuleSettings,
  deviceIds: readonly string[],
  windowStart: string,
): Promise<Set<string>> {
  const events = await context.db
    .selectFrom('events')
    .select(['device_id', 'message'])
    .where('device_id', 'in', deviceIds)
    .where('created_at', '>', windowStart)
    .where('type', 'not like', 'incident.%')
    .$if(rule.event_type !== null, (qb) => qb.where('type', '=', rule.event_type!))
    .$if(rule.event_severity !== null, (qb) => qb.where('severity', '=', rule.event_severity!))
    .execute();
  const text = rule.event_text?.toLowerCase();
  return new Set(
    events
      .filter((event) => text === undefined || event.message.toLowerCase().includes(text))
      .map((event) => event.device_id!),
  );
}

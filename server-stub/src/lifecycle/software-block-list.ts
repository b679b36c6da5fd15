/**
 * Which installed software must not be uninstalled from a device: the block list's entries the
 * device is not exempt from, and the device's own blocks. Each rule is a name glob (`*`, `?`,
 * ignoring case) with an optional publisher (ignoring case) and version (exact). Installed
 * software has an ID made from its name, version and publisher, the same on every device.
 */
import { createHash } from 'node:crypto';
import type { z } from 'zod';
import type { AppContext } from '../context';
import type { InstalledSoftware, SoftwareUninstallBlock } from '../generated/contract.gen';
import type { SoftwareBlockEntriesTable, SoftwareBlockOverridesTable } from '../store/schema';

type Software = z.infer<typeof InstalledSoftware>;
type Block = z.infer<typeof SoftwareUninstallBlock>;

interface Rule {
  name_pattern: string;
  publisher: string | null;
  version: string | null;
}

/**
 * Whether `name` matches the glob `pattern` (`*` any run of characters, `?` one), ignoring case.
 * Walks both strings, going back to the last `*` on a mismatch: O(length × length), with no
 * regular expression whose backtracking a pattern of many stars could blow up.
 */
export function globMatches(pattern: string, name: string): boolean {
  const glob = [...pattern.toLowerCase()];
  const text = [...name.toLowerCase()];
  let g = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (g < glob.length && (glob[g] === '?' || (glob[g] !== '*' && glob[g] === text[t]))) {
      g++;
      t++;
    } else if (g < glob.length && glob[g] === '*') {
      star = g++;
      resume = t;
    } else if (star >= 0) {
      g = star + 1;
      t = ++resume;
    } else return false;
  }
  while (glob[g] === '*') g++;
  return g === glob.length;
}

const ruleMatches = (rule: Rule, software: Software): boolean =>
  globMatches(rule.name_pattern, software.name) &&
  (rule.publisher === null || rule.publisher.toLowerCase() === software.publisher?.toLowerCase()) &&
  (rule.version === null || rule.version === software.version);

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * The ID of installed software: `sw_` and 26 characters (Crockford base32, shaped like the other
 * IDs) from the SHA-256 of its name, version and publisher, 5 bits of each of its first 26 bytes.
 */
export function softwareId(software: Software): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([software.name, software.version ?? null, software.publisher ?? null]))
    .digest();
  return `sw_${[...digest.subarray(0, 26)].map((byte) => CROCKFORD[byte & 31]).join('')}`;
}

/** What an `uninstall_software` command removes. */
interface UninstallTarget {
  name: string;
  version?: string | undefined;
  publisher?: string | undefined;
}

export interface DeviceBlockRules {
  /** The block list's entries, less those the device is exempt from. */
  entries: SoftwareBlockEntriesTable[];
  /** The device's own blocks. */
  blocks: SoftwareBlockOverridesTable[];
}

/** The rules that protect software on each of `deviceIds`: two queries however many devices. */
export async function blockRulesOfDevices(
  context: AppContext,
  deviceIds: readonly string[],
): Promise<Map<string, DeviceBlockRules>> {
  const [entries, overrides] = await Promise.all([
    context.db.selectFrom('software_block_entries').selectAll().orderBy('id').execute(),
    deviceIds.length === 0
      ? []
      : context.db
          .selectFrom('software_block_overrides')
          .selectAll()
          .where('device_id', 'in', deviceIds)
          .orderBy('id')
          .execute(),
  ]);
  const byDevice = new Map<string, SoftwareBlockOverridesTable[]>();
  for (const override of overrides)
    byDevice.set(override.device_id, [...(byDevice.get(override.device_id) ?? []), override]);
  return new Map(
    deviceIds.map((deviceId) => {
      const own = byDevice.get(deviceId) ?? [];
      const exempt = new Set(own.flatMap((override) => override.block_entry_id ?? []));
      return [
        deviceId,
        {
          entries: entries.filter((entry) => !exempt.has(entry.id)),
          blocks: own.filter((override) => override.effect === 'block'),
        },
      ];
    }),
  );
}

/** The rules that protect software on the device. */
export async function blockRulesOf(context: AppContext, deviceId: string): Promise<DeviceBlockRules> {
  return (await blockRulesOfDevices(context, [deviceId])).get(deviceId)!;
}

/** The first rule (the device's own blocks first) that `matches`, or `null`. */
function firstBlock(rules: DeviceBlockRules, matches: (rule: Rule) => boolean): Block | null {
  const block = rules.blocks.find((override) =>
    matches({ ...override, name_pattern: override.name_pattern ?? '' }),
  );
  if (block) return { source: 'device_override', id: block.id, reason: block.reason };
  const entry = rules.entries.find(matches);
  return entry ? { source: 'block_list', id: entry.id, reason: entry.reason } : null;
}

/** What protects `software` from being uninstalled (the device's own block first), or `null`. */
export function blockOf(rules: DeviceBlockRules, software: Software): Block | null {
  return firstBlock(rules, (rule) => ruleMatches(rule, software));
}

/**
 * What protects the software an `uninstall_software` command of `name` (with `version` and
 * `publisher` when given) would remove, or `null`. A command that leaves the version or the
 * publisher open may remove any, so a rule naming one still blocks it.
 */
export function blockOfUninstall(rules: DeviceBlockRules, command: UninstallTarget): Block | null {
  const open = (
    ruleValue: string | null,
    value: string | undefined,
    same: (a: string, b: string) => boolean,
  ) => ruleValue === null || value === undefined || same(ruleValue, value);
  return firstBlock(
    rules,
    (rule) =>
      globMatches(rule.name_pattern, command.name) &&
      open(rule.version, command.version, (a, b) => a === b) &&
      open(rule.publisher, command.publisher, (a, b) => a.toLowerCase() === b.toLowerCase()),
  );
}

/** Why `software` may not be uninstalled, as the 409 and a deployment's blocked targets say it. */
export const blockedMessage = (software: UninstallTarget, block: Block) =>
  `${software.name}${software.version ? ` ${software.version}` : ''} must not be uninstalled (${block.source === 'block_list' ? 'block list entry' : 'device override'} ${block.id}): ${block.reason}`;

/** The reason a job target shows when the block list keeps its uninstall command from it. */
export const SOFTWARE_BLOCKED = 'software_blocked';

/**
 * The devices of `deviceIds` an `uninstall_software` command with `params` must not be sent to,
 * with why (`software_blocked: …`, at most 500 characters): the block list and each device's
 * overrides, read in two queries.
 */
export async function uninstallRefusals(
  context: AppContext,
  params: Record<string, unknown>,
  deviceIds: readonly string[],
): Promise<Map<string, string>> {
  const command = params as unknown as UninstallTarget;
  const refusals = new Map<string, string>();
  for (const [deviceId, rules] of await blockRulesOfDevices(context, deviceIds)) {
    const block = blockOfUninstall(rules, command);
    if (block) refusals.set(deviceId, `${SOFTWARE_BLOCKED}: ${blockedMessage(command, block)}`.slice(0, 500));
  }
  return refusals;
}

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

export interface DeviceBlockRules {
  /** The block list's entries, less those the device is exempt from. */
  entries: SoftwareBlockEntriesTable[];
  /** The device's own blocks. */
  blocks: SoftwareBlockOverridesTable[];
}

/** The rules that protect software on the device. */
export async function blockRulesOf(context: AppContext, deviceId: string): Promise<DeviceBlockRules> {
  const [entries, overrides] = await Promise.all([
    context.db.selectFrom('software_block_entries').selectAll().orderBy('id').execute(),
    context.db
      .selectFrom('software_block_overrides')
      .selectAll()
      .where('device_id', '=', deviceId)
      .orderBy('id')
      .execute(),
  ]);
  const exempt = new Set(overrides.flatMap((override) => override.block_entry_id ?? []));
  return {
    entries: entries.filter((entry) => !exempt.has(entry.id)),
    blocks: overrides.filter((override) => override.effect === 'block'),
  };
}

/** What protects `software` from being uninstalled (the device's own block first), or `null`. */
export function blockOf(rules: DeviceBlockRules, software: Software): Block | null {
  const block = rules.blocks.find((override) =>
    ruleMatches({ ...override, name_pattern: override.name_pattern ?? '' }, software),
  );
  if (block) return { source: 'device_override', id: block.id, reason: block.reason };
  const entry = rules.entries.find((candidate) => ruleMatches(candidate, software));
  return entry ? { source: 'block_list', id: entry.id, reason: entry.reason } : null;
}

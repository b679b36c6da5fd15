/**
 * Where webhooks may be sent (no SSRF): the URL's host is resolved and every address it resolves
 * to is classified. Link-local addresses (cloud metadata services among them), unspecified,
 * multicast and reserved ranges are always refused; loopback and private networks are refused
 * unless the server allows them (`MERIDIAN_WEBHOOKS_ALLOW_PRIVATE`). The check runs when an
 * endpoint is created or changed and again before each delivery (the name may resolve elsewhere
 * by then), and answers the address to connect to: a connection made to the name would resolve
 * it once more, and a hostile DNS server could answer a checked public address to the check and
 * 127.0.0.1 to the connection (DNS rebinding).
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIPv6 } from 'node:net';
import type { AppContext } from '../context';
import { problems } from '../http/problem';

function blockList(ranges: readonly string[]): BlockList {
  const list = new BlockList();
  for (const range of ranges) {
    const [address, prefix] = range.split('/') as [string, string | undefined];
    const type = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

/** Never a webhook target (IPv4-mapped IPv6 addresses are checked against the IPv4 ranges too). */
const ALWAYS_REFUSED = blockList([
  '0.0.0.0/8',
  '169.254.0.0/16', // link-local, with the metadata service of most clouds at 169.254.169.254
  '100.100.100.200', // Alibaba Cloud metadata
  '192.0.0.0/24',
  '198.18.0.0/15',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '::/128',
  'fe80::/10',
  'fd00:ec2::254', // AWS metadata over IPv6
  'ff00::/8',
  '64:ff9b::/96', // NAT64: could reach any IPv4 address
]);

/** Loopback and private networks: refused unless the server allows them. */
const PRIVATE = blockList([
  '127.0.0.0/8',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '::1/128',
  'fc00::/7',
]);

/** The system's resolver (every address of the name, in the order it gives them). */
export const resolveHost = (host: string): Promise<{ address: string; family: number }[]> =>
  lookup(host, { all: true, verbatim: true });

/** When allowed, `address` is the one to connect to (the first the name resolved to, all of them checked). */
export type TargetVerdict = { allowed: true; address: string } | { allowed: false; reason: string };

/** Whether `url` may receive webhooks now, resolving its host name. */
export async function checkTarget(context: AppContext, url: string): Promise<TargetVerdict> {
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: { address: string; family: number }[];
  try {
    addresses = await context.webhooks.resolve(host);
  } catch {
    return { allowed: false, reason: `the host ${host} does not resolve` };
  }
  for (const { address, family } of addresses) {
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (ALWAYS_REFUSED.check(address, type))
      return { allowed: false, reason: `${host} resolves to ${address}, a link-local or reserved address` };
    if (!context.webhooks.allowPrivateTargets && PRIVATE.check(address, type))
      return {
        allowed: false,
        reason: `${host} resolves to ${address}, a loopback or private address (the server does not allow them)`,
      };
  }
  return { allowed: true, address: addresses[0]!.address };
}

/** Refuses a webhook URL (422) that may not receive webhooks. */
export async function assertAllowedTarget(context: AppContext, url: string): Promise<void> {
  const verdict = await checkTarget(context, url);
  if (!verdict.allowed)
    throw problems.unprocessable(
      'webhook_url_not_allowed',
      `Webhooks cannot be sent to ${url}: ${verdict.reason}.`,
      [{ path: '/body/url', message: verdict.reason }],
    );
}

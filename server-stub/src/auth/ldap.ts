/**
 * Directory sign-in with ldapts: bind as the provider's service account (or anonymously), find the
 * user's entry with the search filter, bind as that entry with the password typed in, and read
 * its `memberOf` groups for the role mappings. The same connection steps test a provider.
 */
import { isIP } from 'node:net';
import { type ConnectionOptions, rootCertificates } from 'node:tls';
import { Client, type Entry, InvalidCredentialsError, ResultCodeError } from 'ldapts';
import { ldapConfig, openSecret } from '../access/identity-providers-store';
import type { AppContext } from '../context';
import { ApiError, problems } from '../http/problem';
import type { IdentityProviderRow } from '../store/schema';
import type { ExternalIdentity } from './external-sign-in';
import { recordFailure, refuseIfLocked } from './lockout';

const TIMEOUT_MS = 10_000;

/** RFC 4515 escaping of a value put into a search filter: `*`, `(`, `)`, `\` and NUL. */
const escapeFilterValue = (value: string): string =>
  value.replace(/[\\*()\0]/g, (char) => `\\${char.charCodeAt(0).toString(16).padStart(2, '0')}`);

/** ldapts' result errors carry their meaning in their name (`InvalidCredentialsError`), the code in the message. */
const messageOf = (error: unknown): string =>
  error instanceof ResultCodeError
    ? `${error.name}:${error.message}`
    : error instanceof Error
      ? error.message
      : String(error);

/** An open connection to the provider's directory, StartTLS done if set, bound as its service account. */
async function connect(context: AppContext, provider: IdentityProviderRow): Promise<Client> {
  const settings = ldapConfig(provider);
  const host = new URL(settings.url).hostname.replace(/^\[(.*)\]$/, '$1');
  const tlsOptions: ConnectionOptions = {
    // The certificate is checked against `host`; SNI takes names only.
    host,
    ...(isIP(host) ? {} : { servername: host }),
    ...(settings.tls_ca_certificate === null
      ? {}
      : { ca: [...rootCertificates, settings.tls_ca_certificate] }),
  };
  const client = new Client({
    url: settings.url,
    timeout: TIMEOUT_MS,
    connectTimeout: TIMEOUT_MS,
    // ldapts speaks TLS from the start whenever it is given TLS options: only for ldaps://.
    ...(settings.url.startsWith('ldaps:') ? { tlsOptions } : {}),
  });
  try {
    if (settings.start_tls) await client.startTLS(tlsOptions);
    if (settings.bind_dn !== null) await client.bind(settings.bind_dn, openSecret(context, provider) ?? '');
    return client;
  } catch (error) {
    await client.unbind().catch(() => {});
    throw error;
  }
}

const unreachable = (provider: IdentityProviderRow, error: unknown) =>
  new ApiError(
    502,
    'identity_provider_unreachable',
    'Bad Gateway',
    `The directory of ${provider.name} (${ldapConfig(provider).url}) failed: ${messageOf(error)}`.slice(
      0,
      1000,
    ),
  );

const first = (entry: Entry, attribute: string): string | null => {
  const value = entry[attribute];
  const one = Array.isArray(value) ? value[0] : value;
  return one === undefined ? null : one.toString();
};

const all = (entry: Entry, attribute: string): string[] => {
  const value = entry[attribute];
  return (Array.isArray(value) ? value : value === undefined ? [] : [value]).map(String);
};

/**
 * Who the directory says `username` is, once their password binds; a 401 for an unknown user and
 * for a wrong password alike, counted toward the username's lockout as a wrong Meridian password
 * is (auth/lockout.ts); a locked username is refused before the directory is asked. A 502 when
 * the directory or the service account fails.
 */
export async function authenticateWithDirectory(
  context: AppContext,
  provider: IdentityProviderRow,
  username: string,
  password: string,
): Promise<ExternalIdentity> {
  await refuseIfLocked(context, username);
  const identity = await bindAsUser(context, provider, username, password);
  if (identity === null) {
    await recordFailure(context, username);
    throw problems.unauthenticated('invalid_credentials', 'The username or password is incorrect.');
  }
  return identity;
}

/** The directory's entry of `username` if `password` binds as it, else null (unknown, ambiguous, wrong). */
async function bindAsUser(
  context: AppContext,
  provider: IdentityProviderRow,
  username: string,
  password: string,
): Promise<ExternalIdentity | null> {
  const settings = ldapConfig(provider);
  let client: Client;
  try {
    client = await connect(context, provider);
  } catch (error) {
    throw unreachable(provider, error);
  }
  try {
    let entries: Entry[];
    try {
      ({ searchEntries: entries } = await client.search(settings.user_search_base, {
        scope: 'sub',
        filter: settings.user_search_filter.replaceAll('{username}', escapeFilterValue(username)),
        attributes: ['uid', 'sAMAccountName', 'mail', 'cn', 'displayName', 'memberOf'],
        sizeLimit: 2,
      }));
    } catch (error) {
      throw unreachable(provider, error);
    }
    // Unknown, or ambiguous: either way nobody to bind as.
    if (entries.length !== 1) return null;
    const entry = entries[0]!;
    try {
      await client.bind(entry.dn, password);
    } catch (error) {
      if (error instanceof InvalidCredentialsError) return null;
      throw unreachable(provider, error);
    }
    const login = first(entry, 'uid') ?? first(entry, 'sAMAccountName') ?? username;
    return {
      subject: entry.dn,
      username: login,
      email: first(entry, 'mail'),
      displayName: first(entry, 'displayName') ?? first(entry, 'cn') ?? login,
      memberships: all(entry, 'memberOf'),
    };
  } finally {
    await client.unbind().catch(() => {});
  }
}

/** Connects, binds as the service account and reads the user search base: what failed, or null. */
export async function testDirectory(
  context: AppContext,
  provider: IdentityProviderRow,
): Promise<string | null> {
  try {
    const client = await connect(context, provider);
    try {
      await client.search(ldapConfig(provider).user_search_base, { scope: 'base', attributes: ['dn'] });
    } finally {
      await client.unbind().catch(() => {});
    }
    return null;
  } catch (error) {
    return messageOf(error);
  }
}

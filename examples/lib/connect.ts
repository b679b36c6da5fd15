/**
 * How every example connects: MERIDIAN_URL (default http://localhost:8080) and either
 * MERIDIAN_TOKEN (an API token, best for scripts) or MERIDIAN_USERNAME + MERIDIAN_PASSWORD
 * (signs in and uses the session token).
 */
import { createMeridianClient, login, type Client } from '@meridian/sdk';

export async function connect(): Promise<Client> {
  const baseUrl = process.env.MERIDIAN_URL ?? 'http://localhost:8080';
  const token = process.env.MERIDIAN_TOKEN;
  if (token) return createMeridianClient({ baseUrl, token });
  const username = process.env.MERIDIAN_USERNAME;
  const password = process.env.MERIDIAN_PASSWORD;
  if (!username || !password) {
    throw new Error(
      'Set MERIDIAN_TOKEN, or MERIDIAN_USERNAME and MERIDIAN_PASSWORD (npm start prints the admin credentials).',
    );
  }
  const { data, error } = await login({
    client: createMeridianClient({ baseUrl }),
    body: { username, password },
  });
  if (!data) throw new Error(`Sign-in failed: ${error?.detail ?? 'no response'}`);
  return createMeridianClient({ baseUrl, token: data.token });
}

/** Ends the script with the API's own explanation when a call fails. */
export function orExit<T>(
  result: { data?: T; error?: { status: number; code: string; detail?: string; request_id: string } },
  what: string,
): T {
  if (result.data !== undefined) return result.data;
  const problem = result.error;
  console.error(
    `${what} failed: ${problem ? `${problem.status} ${problem.code}: ${problem.detail ?? ''} (request ${problem.request_id})` : 'no response'}`,
  );
  process.exit(1);
}

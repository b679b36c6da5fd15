/**
 * How every example connects: MERIDIAN_URL (default http://localhost:8080) and either
 * MERIDIAN_TOKEN (an API token, best for scripts) or MERIDIAN_USERNAME + MERIDIAN_PASSWORD
 * (signs in and uses the session token).
 */
import Meridian, { MeridianError } from '@meridian/sdk';

export async function connect(): Promise<Meridian> {
  const baseUrl = process.env.MERIDIAN_URL ?? 'http://localhost:8080';
  const token = process.env.MERIDIAN_TOKEN;
  if (token) return new Meridian({ baseUrl, token });
  const username = process.env.MERIDIAN_USERNAME;
  const password = process.env.MERIDIAN_PASSWORD;
  if (!username || !password) {
    throw new Error(
      'Set MERIDIAN_TOKEN, or MERIDIAN_USERNAME and MERIDIAN_PASSWORD (npm start prints the admin credentials).',
    );
  }
  const session = await orExit(new Meridian({ baseUrl }).auth.login({ username, password }), 'Sign-in');
  return new Meridian({ baseUrl, token: session.token });
}

/**
 * Ends the script with the API's own explanation when a call fails (after the client's retries):
 * status, code, detail and request ID, e.g. `Listing devices failed: 401 invalid_token: … (request req_…)`.
 */
export async function orExit<T>(call: Promise<T>, what: string): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (!(error instanceof MeridianError)) throw error;
    console.error(`${what} failed: ${error.message}`);
    process.exit(1);
  }
}

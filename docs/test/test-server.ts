/** The real Meridian server, in-process on a free port with an empty in-memory database, for the docs tests. */
import { startServer, type RunningServer } from '@meridian/server';

export const ADMIN = { username: 'root', password: 'root-password-for-tests' } as const;

export function startTestServer(): Promise<RunningServer> {
  return startServer({
    database: ':memory:',
    port: 0,
    host: '127.0.0.1',
    adminUsername: ADMIN.username,
    adminPassword: ADMIN.password,
    // A low scrypt cost keeps sign-in fast; the code path is the same as in production.
    passwordCost: 1024,
  });
}

/** Signs in over plain HTTP and returns the session token (`mst_…`). */
export async function signIn(baseUrl: string): Promise<string> {
  const response = await fetch(`${baseUrl}/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(ADMIN),
  });
  if (response.status !== 200) throw new Error(`sign-in failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

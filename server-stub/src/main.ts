/** `npm start`: Meridian on its embedded default, configured from the environment (config.ts). */
import { ConfigError, readConfig, serverOptions, type Environment } from './config';
import { shutDownOnSignals, startServer } from './index';

function configuration(): Environment {
  try {
    return readConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

const server = await startServer(serverOptions(configuration()));

console.log(`Meridian ${server.context.version} is running (${server.context.engine}).
  API           ${server.url}/v1
  OpenAPI spec  ${server.url}/openapi.json
  Try-It docs   ${server.url}/docs
  Metrics       ${server.metricsUrl ?? `${server.url}/metrics (with the metrics:read scope)`}
  Audit key     ${server.auditKeySource}`);
if (server.bootstrap) {
  console.log(`\nCreated the first admin user: ${server.bootstrap.username}`);
  console.log(
    server.bootstrap.generatedPassword
      ? `  password: ${server.bootstrap.generatedPassword}\n  (generated; shown only this once — change it with POST /v1/auth/password)`
      : '  password: the one in MERIDIAN_ADMIN_PASSWORD',
  );
}
shutDownOnSignals(server);

#!/usr/bin/env node
/**
 * meridian-conformance: checks a running Meridian server against the spec (runner.ts).
 *
 *   meridian-conformance --url https://meridian.example.com --token mtk_… \
 *     [--allow-writes] [--report-json report.json] [--junit junit.xml]
 *
 * The token may also come from MERIDIAN_TOKEN. Exit code 0 when every check passed, 1 when one
 * failed, 2 when the command line is wrong. In the repository: `npm run conformance -- …`; in
 * @meridian/mocks it is the package's bin, with the spec it was built from beside it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { OpenApiDocument } from '../../../scripts/lib/openapi';
import { junitXml } from './reports';
import { runConformance } from './runner';
import { createSpecModel } from './spec-model';

/** Set by mocks/scripts/build.ts to the spec shipped beside the built bin. */
declare const MERIDIAN_BUNDLED_SPEC: string | undefined;
const SPEC_FILE =
  typeof MERIDIAN_BUNDLED_SPEC === 'string'
    ? new URL(MERIDIAN_BUNDLED_SPEC, import.meta.url)
    : new URL('../../../openapi/dist/openapi.json', import.meta.url);

const USAGE = `Usage: meridian-conformance --url <base URL> --token <token> [--allow-writes]
                            [--report-json <file>] [--junit <file>]

Checks a running Meridian server against its OpenAPI spec: every response, the credential
checks (401 without or with an unknown token, 403 without a scope) and bad input (400).
Read-only (GET requests only) unless --allow-writes: then it also writes, only inside a scratch
site it creates and deletes at the end. The token may also come from MERIDIAN_TOKEN.
Exit code: 0 all checks passed, 1 a check failed, 2 usage error.`;

async function main(): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse().values;
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const token = values.token ?? process.env.MERIDIAN_TOKEN;
  if (!values.url || !token) {
    console.error(`--url and --token (or MERIDIAN_TOKEN) are required.\n\n${USAGE}`);
    return 2;
  }
  const model = createSpecModel(JSON.parse(readFileSync(SPEC_FILE, 'utf8')) as OpenApiDocument);
  const report = await runConformance({
    url: values.url,
    token,
    allowWrites: values['allow-writes'],
    model,
    onCheck: (check) => {
      if (check.outcome === 'failed')
        console.log(`✗ ${check.operationId}: ${check.name}\n    ${check.messages.join('\n    ')}`);
    },
  });
  if (values['report-json']) writeFileSync(values['report-json'], `${JSON.stringify(report, null, 2)}\n`);
  if (values.junit) writeFileSync(values.junit, junitXml(report));
  const { total, passed, failed, skipped } = report.summary;
  const { version } = (model.spec as { info?: { version?: string } }).info ?? {};
  console.log(
    `${report.url} (spec ${version}): ${total} checks, ${passed} passed, ${failed} failed, ${skipped} skipped`,
  );
  return failed === 0 ? 0 : 1;
}

function parse() {
  return parseArgs({
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      'allow-writes': { type: 'boolean', default: false },
      'report-json': { type: 'string' },
      junit: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  },
);

/**
 * The script library: scripts, every version each has had, and what a job needs to run one
 * (`loadScript`, `scriptArgumentIssues`, `runScriptParams`). A script's parameters are declared
 * as a JSON Schema, checked here with Ajv when the script is saved and again when it is run.
 */
import Ajv2020, { type ErrorObject } from 'ajv/dist/2020.js';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { AppContext } from '../context';
import type { ScriptDefinition } from '../generated/contract.gen';
import { type FieldIssue, problems } from '../http/problem';
import { oneOrNotFound } from '../store/found';
import { newId } from '../store/ids';
import type { Database, ScriptContent, ScriptRow, ScriptVersionRow } from '../store/schema';

/** A script as written: its content with the JSON columns parsed. */
export type ScriptSource = z.infer<typeof ScriptDefinition>;

/** One version of a script, as a job runs it. */
export interface LoadedScript extends ScriptSource {
  script_id: string;
  version: number;
}

/** The largest parameters schema accepted, as JSON. */
const MAX_PARAMETERS_SCHEMA_BYTES = 16 * 1024;

/** Parameter names become environment variables (`MERIDIAN_PARAM_<NAME>`), so they must be names. */
const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export const sourceOf = (row: ScriptContent): ScriptSource => ({
  name: row.name,
  description: row.description,
  language: row.language,
  platforms: JSON.parse(row.platforms) as ScriptSource['platforms'],
  body: row.body,
  parameters: JSON.parse(row.parameters) as Record<string, unknown>,
  timeout_seconds: row.timeout_seconds,
  run_as: row.run_as,
});

const contentOf = (source: ScriptSource): ScriptContent => ({
  name: source.name,
  description: source.description,
  language: source.language,
  platforms: JSON.stringify(source.platforms),
  body: source.body,
  parameters: JSON.stringify(source.parameters),
  timeout_seconds: source.timeout_seconds,
  run_as: source.run_as,
});

// Formats are annotations here (the agent gets strings); unknown keywords are typos and refused.
const ajv = new Ajv2020({ allErrors: true, strict: true, validateFormats: false });

const ajvIssue =
  (prefix: string) =>
  (error: ErrorObject): FieldIssue => ({
    path: `${prefix}${error.instancePath}`,
    message: error.message ?? 'is invalid',
  });

/**
 * Compiles a parameters schema, or says at `path` why it is not one: not JSON Schema (draft
 * 2020-12), too large, not an object schema, property names that are not names, or references
 * Ajv cannot resolve. Compiled schemas are not kept (every saved script would stay in memory).
 */
function compileParameters(schema: Record<string, unknown>, path: string) {
  const invalid = (message: string, at = path) =>
    problems.unprocessable(
      'invalid_parameters_schema',
      `parameters is not a usable JSON Schema: ${message}`,
      [{ path: at, message }],
    );
  if (JSON.stringify(schema).length > MAX_PARAMETERS_SCHEMA_BYTES)
    throw invalid(`it is larger than ${MAX_PARAMETERS_SCHEMA_BYTES / 1024} KiB`);
  if (schema.type !== 'object') throw invalid('its type must be "object"', `${path}/type`);
  const properties = schema.properties;
  const names = properties && typeof properties === 'object' ? Object.keys(properties) : [];
  const badName = names.find((name) => !PARAMETER_NAME.test(name));
  if (badName !== undefined)
    throw invalid(
      `parameter name ${JSON.stringify(badName)} must match ${PARAMETER_NAME.source}`,
      `${path}/properties/${badName}`,
    );
  if (!ajv.validateSchema(schema)) {
    const first = ajv.errors?.[0];
    throw invalid(first?.message ?? 'it is not a JSON Schema', `${path}${first?.instancePath ?? ''}`);
  }
  try {
    return ajv.compile(schema);
  } catch (error) {
    throw invalid((error as Error).message);
  } finally {
    ajv.removeSchema(schema);
  }
}

/** Throws 422 `invalid_parameters_schema` unless `schema` can declare a script's parameters. */
export function assertParametersSchema(schema: Record<string, unknown>, path = '/body/parameters'): void {
  compileParameters(schema, path);
}

/** What is wrong with `args` for the script's parameters (empty when they are valid). */
export function scriptArgumentIssues(
  script: Pick<ScriptSource, 'parameters'>,
  args: Record<string, unknown>,
  path = '/body/arguments',
): FieldIssue[] {
  const validate = compileParameters(script.parameters, path);
  return validate(args) ? [] : (validate.errors ?? []).map(ajvIssue(path)).slice(0, 100);
}

/**
 * The params of the `run_script` command that runs this version of the script with `args`
 * (checked with `scriptArgumentIssues` first), and its timeout.
 */
export function runScriptParams(script: LoadedScript, args: Record<string, string | number | boolean>) {
  return {
    script_id: script.script_id,
    script_version: script.version,
    language: script.language,
    body: script.body,
    parameters: args,
    timeout_seconds: script.timeout_seconds,
    run_as: script.run_as,
  };
}

export function findScript(context: AppContext, id: string): Promise<ScriptRow> {
  return oneOrNotFound(context.db.selectFrom('scripts').selectAll().where('id', '=', id), 'script', id);
}

export async function findScriptVersion(
  context: AppContext,
  scriptId: string,
  version: number,
): Promise<ScriptVersionRow> {
  await findScript(context, scriptId);
  return oneOrNotFound(
    context.db
      .selectFrom('script_versions')
      .selectAll()
      .where('script_id', '=', scriptId)
      .where('version', '=', version),
    'version of script',
    `${scriptId} ${version}`,
  );
}

/**
 * The script a job runs: its current version, or the version given. `undefined` when there is
 * no such script or version (the caller decides what that means: a 422 for a job being created).
 */
export async function loadScript(
  db: Kysely<Database>,
  scriptId: string,
  version?: number,
): Promise<LoadedScript | undefined> {
  const row = await db
    .selectFrom('script_versions')
    .selectAll()
    .where('script_id', '=', scriptId)
    .$if(version !== undefined, (qb) => qb.where('version', '=', version!))
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row && { script_id: row.script_id, version: row.version, ...sourceOf(row) };
}

/**
 * Records the script's content as it now is (in `trx`, after the write that changed it) as a
 * new version, made by `userId` when the script was last updated.
 */
export async function recordVersion(trx: Kysely<Database>, scriptId: string, userId: string): Promise<void> {
  const {
    id,
    version,
    created_by: _createdBy,
    created_at: _createdAt,
    updated_at,
    ...content
  } = await trx.selectFrom('scripts').selectAll().where('id', '=', scriptId).executeTakeFirstOrThrow();
  await trx
    .insertInto('script_versions')
    .values({
      ...content,
      id: newId('spv'),
      script_id: id,
      version,
      changed_by: userId,
      created_at: updated_at,
    })
    .execute();
}

/** Creates a script (version 1) from its source; answers the stored row. */
export async function insertScript(
  context: AppContext,
  source: ScriptSource,
  userId: string,
  at: string,
): Promise<ScriptRow> {
  assertParametersSchema(source.parameters);
  const row = {
    id: newId('spt'),
    ...contentOf(source),
    version: 1,
    created_by: userId,
    created_at: at,
    updated_at: at,
  };
  await context.db.transaction().execute(async (trx) => {
    await trx.insertInto('scripts').values(row).execute();
    await recordVersion(trx, row.id, userId);
  });
  return row;
}

import { initServer } from '@ts-rest/express';
import type { z } from 'zod';
import type { AppContext } from '../context';
import { nowIso } from '../context';
import { contract, type Script, type ScriptCreate, type ScriptVersion } from '../generated/contract.gen';
import { type HandlerArgs, type RouteArgs, setEtag, versionedRoutes } from '../http/etag';
import { paginate } from '../http/pagination';
import { principalOf } from '../http/principal';
import { problems } from '../http/problem';
import { whereEqual } from '../store/filters';
import type { ScriptRow, ScriptVersionRow } from '../store/schema';
import {
  assertParametersSchema,
  findScript,
  findScriptVersion,
  insertScript,
  recordVersion,
  type ScriptSource,
  sourceOf,
} from './scripts-store';

/** The version of the export document this server writes and reads. */
const EXPORT_FORMAT_VERSION = 1;

const toScript = (row: ScriptRow): z.infer<typeof Script> => ({
  id: row.id,
  ...sourceOf(row),
  version: row.version,
  created_by: row.created_by,
  created_at: row.created_at,
  updated_at: row.updated_at,
});

const toScriptVersion = (row: ScriptVersionRow): z.infer<typeof ScriptVersion> => ({
  script_id: row.script_id,
  version: row.version,
  ...sourceOf(row),
  changed_by: row.changed_by,
  created_at: row.created_at,
});

/** A new script's source from a create request: its defaults filled in. */
const sourceFromCreate = (body: z.infer<typeof ScriptCreate>): ScriptSource => ({
  name: body.name,
  description: body.description ?? '',
  language: body.language,
  platforms: body.platforms ?? (body.language === 'powershell' ? ['windows'] : ['linux', 'macos']),
  body: body.body,
  parameters: body.parameters ?? { type: 'object' },
  timeout_seconds: body.timeout_seconds ?? 300,
  run_as: body.run_as ?? 'system',
});

export function scriptsHandlers(context: AppContext) {
  const { db } = context;

  const script = versionedRoutes(context, {
    table: 'scripts',
    read: ({ params }: RouteArgs<{ script_id: string }>) => findScript(context, params.script_id),
    present: toScript,
  });

  /** Answers a script just created (version 1) with its ETag. */
  const created = async (args: Pick<RouteArgs, 'req' | 'res'>, source: ScriptSource) => {
    const row = await insertScript(context, source, principalOf(args.req).user.id, nowIso(context));
    setEtag(args.res, row.version);
    return { status: 201 as const, body: toScript(row) };
  };

  return initServer().router(contract.scripts, {
    listScripts: async ({ query }) => ({
      status: 200,
      body: await paginate(
        query,
        whereEqual(db.selectFrom('scripts').selectAll(), { language: query.language }),
        toScript,
      ),
    }),

    createScript: async (args) => created(args, sourceFromCreate(args.body)),

    getScript: script.get,

    updateScript: script.update(
      ({ body }: HandlerArgs<typeof contract.scripts.updateScript>) => {
        if (body.parameters !== undefined) assertParametersSchema(body.parameters);
        const { parameters, platforms, ...plain } = body;
        return {
          ...plain,
          ...(parameters === undefined ? {} : { parameters: JSON.stringify(parameters) }),
          ...(platforms === undefined ? {} : { platforms: JSON.stringify(platforms) }),
        };
      },
      (trx, { req }, current) => recordVersion(trx, current.id, principalOf(req).user.id),
    ),

    deleteScript: async ({ params }) => {
      await findScript(context, params.script_id);
      await db.deleteFrom('scripts').where('id', '=', params.script_id).execute();
      return { status: 204, body: undefined };
    },

    listScriptVersions: async ({ params, query }) => {
      await findScript(context, params.script_id);
      const select = db.selectFrom('script_versions').selectAll().where('script_id', '=', params.script_id);
      return { status: 200, body: await paginate(query, select, toScriptVersion, 'id', 'desc') };
    },

    getScriptVersion: async ({ params }) => ({
      status: 200,
      body: toScriptVersion(await findScriptVersion(context, params.script_id, params.version)),
    }),

    cloneScript: async (args) => {
      const original = sourceOf(await findScript(context, args.params.script_id));
      return created(args, { ...original, name: args.body?.name ?? `${original.name} (copy)`.slice(0, 200) });
    },

    exportScript: async ({ params }) => ({
      status: 200,
      body: {
        format: 'meridian.script',
        format_version: EXPORT_FORMAT_VERSION,
        exported_at: nowIso(context),
        script: sourceOf(await findScript(context, params.script_id)),
      },
    }),

    importScript: async (args) => {
      const { format_version: version, script: source } = args.body;
      if (version !== EXPORT_FORMAT_VERSION)
        throw problems.unprocessable(
          'unsupported_format_version',
          `This server reads script documents of format_version ${EXPORT_FORMAT_VERSION}, not ${version}; export the script again from a server of the same version.`,
          [{ path: '/body/format_version', message: `must be ${EXPORT_FORMAT_VERSION}` }],
        );
      return created(args, source);
    },
  });
}

/**
 * The device types Meridian knows and the commands each one's agent accepts, with the JSON
 * Schema of their params (the edge hub's drivers, the RMM's quick actions, the process
 * manager's process commands). Built in: adding a device type is a code change, reviewed like
 * one. Every params schema is compiled once, at startup, with Ajv (draft 2020-12).
 */
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { z } from 'zod';
import type { DeviceType } from '../generated/contract.gen';
import { type FieldIssue, problems } from '../http/problem';

type JsonSchema = Record<string, unknown>;

interface CommandSpec {
  description: string;
  params?: Record<string, JsonSchema>;
  required?: string[];
  /** Params that need others beside them (JSON Schema `dependentRequired`). */
  dependentRequired?: Record<string, string[]>;
  timeout?: number;
}

const text = (maxLength: number, minLength = 1): JsonSchema => ({ type: 'string', minLength, maxLength });
const id = text(100);
const seconds = (maximum: number): JsonSchema => ({ type: 'integer', minimum: 0, maximum });
const PROCESS = { process_name: text(260) };
const SERVICE = { service_name: text(256) };

/** Commands every agent understands. */
const COMMON: Record<string, CommandSpec> = {
  ping: { description: 'Answers at once; proves the agent receives and runs commands.', timeout: 60 },
  echo: {
    description: 'Prints `text` to standard output.',
    params: { text: text(1000, 0) },
    required: ['text'],
    timeout: 60,
  },
  get_config: { description: "Returns the agent's configuration as output.", timeout: 60 },
  restart_agent: { description: 'Restarts the agent service.', timeout: 300 },
};

const MACHINE: Record<string, CommandSpec> = {
  run_shell: {
    description: 'Runs a shell command and reports its exit code and output.',
    params: {
      command: text(8000),
      shell: { type: 'string', enum: ['sh', 'bash', 'powershell', 'cmd'] },
      working_directory: text(1000),
    },
    required: ['command'],
    timeout: 600,
  },
  run_script: {
    description:
      'Runs a script (the body of a library script, or an inline one) with `language`, passing each of ' +
      '`parameters` as the environment variable `MERIDIAN_PARAM_<NAME>` (upper-cased), killing it after ' +
      '`timeout_seconds` (default 300); reports its exit code and output.',
    params: {
      language: { type: 'string', enum: ['sh', 'bash', 'powershell', 'python'] },
      body: text(65_536),
      parameters: {
        type: 'object',
        maxProperties: 50,
        propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' },
        additionalProperties: { anyOf: [text(4000, 0), { type: 'number' }, { type: 'boolean' }] },
      },
      timeout_seconds: { type: 'integer', minimum: 5, maximum: 86_400 },
      run_as: { type: 'string', enum: ['system', 'user'] },
      script_id: { type: 'string', pattern: '^spt_[0-9A-HJKMNP-TV-Z]{26}$' },
      script_version: { type: 'integer', minimum: 1, maximum: 2_147_483_647 },
    },
    required: ['language', 'body'],
    timeout: 3600,
  },
  reboot: {
    description: 'Reboots the machine after `delay_seconds` (default 0).',
    params: { delay_seconds: seconds(3600) },
    timeout: 900,
  },
  collect_inventory: {
    description: 'Collects hardware, software and services and uploads them.',
    timeout: 600,
  },
  list_processes: {
    description:
      'Returns the running processes as output (`processes`: pid, parent_pid, name, command_line, user, ' +
      'cpu_percent, memory_bytes, started_at); `GET /v1/devices/{device_id}/live-processes` sends it.',
    timeout: 60,
  },
  terminate_process: {
    description:
      'Ends the process with this PID (asks it to end, kills it ten seconds later); fails when there is none.',
    params: { pid: { type: 'integer', minimum: 1, maximum: 2_147_483_647 } },
    required: ['pid'],
    timeout: 60,
  },
  install_software: {
    description:
      'Installs software: downloads the installer at `url`, refuses it unless its SHA-256 is `sha256`, and ' +
      'runs it with `arguments` (its silent install arguments); reports its progress with the stage ' +
      '`downloading`, then `installing`. Succeeds when the installer exits 0; fails, saying why in `error`, ' +
      'when the download fails or does not match, or the installer fails (`exit_code`). The agent then ' +
      'reports its inventory again, where the software shows as `detection` says. Deployments send it.',
    params: {
      installer_id: { type: 'string', pattern: '^ins_[0-9A-HJKMNP-TV-Z]{26}$' },
      name: text(200),
      version: text(100),
      url: { type: 'string', maxLength: 2000, pattern: '^https?://' },
      sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
      arguments: { type: 'array', maxItems: 50, items: text(1000, 0) },
      detection: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: { name: text(200), version: text(100) },
      },
    },
    required: ['name', 'version', 'url', 'sha256'],
    timeout: 3600,
  },
  uninstall_software: {
    description:
      'Uninstalls the software `name` (`version`, `publisher`) as the inventory shows it: with `url` and ' +
      '`sha256` the agent downloads the installer, checks it and runs it with `arguments`; without, the ' +
      "platform's own uninstaller. Fails, saying why, when the software is not installed, the download " +
      'does not match or the uninstaller fails. Never sent where the block list protects the software ' +
      '(unsupported, software_blocked). See the software lifecycle guide.',
    params: {
      name: text(200),
      version: text(100),
      publisher: text(200),
      arguments: { type: 'array', maxItems: 50, items: text(1000, 0) },
      url: { type: 'string', maxLength: 2000, pattern: '^https?://' },
      sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
      installer_id: { type: 'string', pattern: '^ins_[0-9A-HJKMNP-TV-Z]{26}$' },
    },
    required: ['name'],
    dependentRequired: { url: ['sha256'], sha256: ['url'] },
    timeout: 1800,
  },
  ...Object.fromEntries(
    (['start', 'stop', 'restart'] as const).map((action) => [
      `${action}_service`,
      {
        description: `${action[0]!.toUpperCase()}${action.slice(1)}s a system service (systemd unit, Windows service or launchd job).`,
        params: SERVICE,
        required: ['service_name'],
        timeout: 300,
      },
    ]),
  ),
};

const CATALOGUE: Record<
  string,
  { name: string; description: string; commands: Record<string, CommandSpec> }
> = {
  workstation: {
    name: 'Workstation',
    description: 'A desktop, laptop or kiosk PC (Windows, macOS or Linux) running user-facing software.',
    commands: {
      ...COMMON,
      ...MACHINE,
      restart_process: {
        description: 'Stops a monitored process and starts it again.',
        params: PROCESS,
        required: ['process_name'],
        timeout: 120,
      },
      kill_process: {
        description: 'Stops a process without starting it again.',
        params: PROCESS,
        required: ['process_name'],
        timeout: 60,
      },
      take_screenshot: {
        description: 'Captures the screen and uploads it as a JPEG.',
        params: { display: seconds(16) },
        timeout: 120,
      },
    },
  },
  server: {
    name: 'Server',
    description: 'A headless machine running services.',
    commands: {
      ...COMMON,
      ...MACHINE,
    },
  },
  edge: {
    name: 'Edge node',
    description: 'A small device at the edge running data flows that forward readings to outputs.',
    commands: {
      ...COMMON,
      update_config: {
        description: "Replaces the node's configuration.",
        params: { config: { type: 'object', maxProperties: 200 } },
        required: ['config'],
        timeout: 120,
      },
      create_flow: {
        description: 'Creates a flow from its definition.',
        params: { flow_id: id, definition: { type: 'object', maxProperties: 200 } },
        required: ['flow_id', 'definition'],
        timeout: 120,
      },
      delete_flow: {
        description: 'Deletes a flow.',
        params: { flow_id: id },
        required: ['flow_id'],
        timeout: 120,
      },
      start_flow: {
        description: 'Starts a flow.',
        params: { flow_id: id },
        required: ['flow_id'],
        timeout: 120,
      },
      stop_flow: {
        description: 'Stops a flow.',
        params: { flow_id: id },
        required: ['flow_id'],
        timeout: 120,
      },
      restart_flow: {
        description: 'Stops a flow and starts it again.',
        params: { flow_id: id },
        required: ['flow_id'],
        timeout: 120,
      },
      add_output: {
        description: 'Adds an output to a flow.',
        params: { flow_id: id, output: { type: 'object', maxProperties: 50 } },
        required: ['flow_id', 'output'],
        timeout: 120,
      },
      remove_output: {
        description: 'Removes an output from a flow.',
        params: { flow_id: id, output_id: id },
        required: ['flow_id', 'output_id'],
        timeout: 120,
      },
    },
  },
  relay: {
    name: 'Relay server',
    description: 'Forwards traffic between edge nodes and the outside through authorised tunnels.',
    commands: {
      ...COMMON,
      list_tunnels: { description: 'Returns the open tunnels as output.', timeout: 60 },
      list_edges: { description: 'Returns the connected edge nodes as output.', timeout: 60 },
      close_tunnel: {
        description: 'Closes one tunnel at once.',
        params: { tunnel_id: id },
        required: ['tunnel_id'],
        timeout: 60,
      },
      disconnect_edge: {
        description: 'Disconnects one edge node.',
        params: { edge_id: id },
        required: ['edge_id'],
        timeout: 60,
      },
      authorize_tunnel: {
        description: "Pre-authorises a tunnel's HMAC-SHA256 bind tokens.",
        params: { tunnel_id: id, ingress_token: text(200, 16), egress_token: text(200, 16) },
        required: ['tunnel_id', 'ingress_token', 'egress_token'],
        timeout: 60,
      },
      revoke_tunnel: {
        description: "Removes a tunnel's bind authorisation.",
        params: { tunnel_id: id },
        required: ['tunnel_id'],
        timeout: 60,
      },
    },
  },
};

export const DEFAULT_DEVICE_TYPE = 'workstation';

const paramsSchema = (spec: CommandSpec): JsonSchema => ({
  type: 'object',
  additionalProperties: false,
  ...(spec.required ? { required: spec.required } : {}),
  ...(spec.dependentRequired ? { dependentRequired: spec.dependentRequired } : {}),
  properties: spec.params ?? {},
});

export const deviceTypes: z.infer<typeof DeviceType>[] = Object.entries(CATALOGUE).map(([typeId, type]) => ({
  id: typeId,
  name: type.name,
  description: type.description,
  command_types: Object.entries(type.commands).map(([name, spec]) => ({
    name,
    description: spec.description,
    params_schema: paramsSchema(spec),
    default_timeout_seconds: spec.timeout ?? 300,
  })),
}));

const ajv = new Ajv2020({ allErrors: true, strict: true });
const validators = new Map<string, ValidateFunction>(
  deviceTypes.flatMap((type) =>
    type.command_types.map(
      (command) => [`${type.id}/${command.name}`, ajv.compile(command.params_schema)] as const,
    ),
  ),
);

export function findDeviceType(typeId: string) {
  return deviceTypes.find((type) => type.id === typeId);
}

/** A device type named in a request body: unknown ones are a 422. */
export function assertDeviceType(typeId: string | undefined): void {
  if (typeId !== undefined && !findDeviceType(typeId)) {
    throw problems.unprocessable(
      'unknown_device_type',
      `There is no device type ${typeId}; see GET /v1/device-types.`,
    );
  }
}

export function findCommandType(typeId: string, name: string) {
  return findDeviceType(typeId)?.command_types.find((command) => command.name === name);
}

const issueOf =
  (path: string) =>
  (error: ErrorObject): FieldIssue => {
    const missing =
      error.keyword === 'required' ? `/${(error.params as { missingProperty: string }).missingProperty}` : '';
    const unknown =
      error.keyword === 'additionalProperties'
        ? `/${(error.params as { additionalProperty: string }).additionalProperty}`
        : '';
    return {
      path: `${path}${error.instancePath}${missing}${unknown}`,
      message: error.message ?? 'is invalid',
    };
  };

/** What is wrong with `params` (found at `path` in the request) for the command type (empty when they are valid). */
function paramsIssues(typeId: string, name: string, params: unknown, path = '/body/params'): FieldIssue[] {
  const validate = validators.get(`${typeId}/${name}`);
  if (!validate) throw new Error(`No command type ${typeId}/${name}`);
  return validate(params) ? [] : (validate.errors ?? []).map(issueOf(path)).slice(0, 100);
}

/** Throws 422 `invalid_command_params` unless `params` (at `path`) suit the command type. */
export function assertCommandParams(typeId: string, name: string, params: unknown, path?: string): void {
  const issues = paramsIssues(typeId, name, params, path);
  if (issues.length > 0)
    throw problems.unprocessable(
      'invalid_command_params',
      `The params do not match the schema of ${name}: see errors.`,
      issues,
    );
}

/**
 * `MeridianAgent`: the device side of the API, for agents built on the SDK. It enrols (and
 * waits for approval), keeps its credentials fresh (a 401 `token_expired` triggers one refresh
 * with the rotating refresh token, then the call is repeated), sends heartbeats at the interval
 * the server asks for, long-polls for commands and reports their results.
 *
 *   const agent = new MeridianAgent({ baseUrl, onCredentials: save });
 *   await agent.enroll({ code, fingerprint, facts });
 *   await agent.run({ heartbeat: () => ({ status: 'online', agent_version, uptime_seconds }), handlers, signal });
 */
import { Meridian, type MeridianOptions } from './client';
import { AuthenticationError } from './meridian-client/errors';
import type {
  AgentCommand,
  AgentConfig,
  AgentEventCreate,
  AgentCommandOutcome,
  AgentCommandProgress,
  AgentCredentials,
  AgentEnrollmentRequest,
  AgentEnrollmentStatus,
  AgentHeartbeat,
  AgentHeartbeatAck,
  AgentPlatform,
  AgentUpdateResult,
  InventoryReport,
  JpegImage,
} from './generated/types.gen';
import { sleep } from './internal/utils/sleep';

export interface MeridianAgentOptions extends Omit<MeridianOptions, 'token' | 'credentials' | 'readCookies'> {
  /** Credentials saved from an earlier run, to resume without enrolling again. */
  credentials?: AgentCredentials;
  /** Called with every new set of credentials (after enrolment and each refresh): persist them. */
  onCredentials?: (credentials: AgentCredentials) => void | Promise<void>;
}

/** What a command handler reports; `status` defaults to `succeeded` for exit code 0 (or none). */
export type CommandResult = Partial<Omit<AgentCommandOutcome, 'duration_ms'>>;

export interface CommandContext {
  /** Reports progress to operators (percent 0–100 and a short message). */
  progress(update: AgentCommandProgress): Promise<void>;
  /** Aborted when the agent stops or the command's own timeout passes. */
  signal: AbortSignal;
}

export type CommandHandler = (command: AgentCommand, context: CommandContext) => Promise<CommandResult>;

export interface RunOptions {
  /** The state to report in each heartbeat. */
  heartbeat: () => AgentHeartbeat | Promise<AgentHeartbeat>;
  /** A handler per command type; other types are reported as failed (unsupported). */
  handlers: Record<string, CommandHandler>;
  /** Stops the loops; `run` then resolves. */
  signal: AbortSignal;
  /** How long each command long-poll waits on the server (seconds, at most 30). */
  pollWaitSeconds?: number;
  /** Called with every heartbeat acknowledgement and every handled command (for logs and metrics). */
  onHeartbeat?: (ack: AgentHeartbeatAck) => void;
  onCommand?: (command: AgentCommand, outcome: AgentCommandOutcome) => void;
  /**
   * Called with the desired configuration (monitored processes, intervals) after the first
   * heartbeat, and again whenever a heartbeat reports a new `config_version`.
   */
  onConfig?: (config: AgentConfig) => void | Promise<void>;
  /** Called with errors the loops survive (network trouble, 5xx); they wait and carry on. */
  onError?: (error: unknown) => void;
  /** How long a loop waits after such an error (default 5000 ms). */
  errorDelayMs?: number;
}

/** The enrolment ended without credentials: denied by an operator, or expired undecided. */
export class EnrollmentRefusedError extends Error {
  constructor(
    readonly status: 'denied' | 'expired',
    readonly reason: string | null,
  ) {
    super(`enrolment ${status}${reason ? `: ${reason}` : ''}`);
    this.name = 'EnrollmentRefusedError';
  }
}

/** At most this much of stdout/stderr is sent: the end, which is usually what matters. */
const MAX_OUTPUT = 32 * 1024;

function tail(text: string | undefined): { text?: string; truncated?: boolean } {
  if (text === undefined) return {};
  return text.length <= MAX_OUTPUT ? { text } : { text: text.slice(-MAX_OUTPUT), truncated: true };
}

export class MeridianAgent {
  #credentials: AgentCredentials | undefined;
  readonly #options: MeridianAgentOptions;
  /** Unauthenticated client for enrolment and refresh; the authenticated one follows the token. */
  readonly #anonymous: Meridian;
  #client: Meridian | undefined;
  /** The refresh in flight: concurrent calls share it (a refresh token works only once). */
  #refreshing: Promise<void> | undefined;

  constructor(options: MeridianAgentOptions) {
    this.#options = options;
    this.#anonymous = new Meridian(this.#clientOptions());
    if (options.credentials) this.#use(options.credentials);
  }

  /** The current credentials (undefined until enrolled). */
  get credentials(): AgentCredentials | undefined {
    return this.#credentials;
  }

  /** This device's ID, once enrolled. */
  get deviceId(): string | undefined {
    return this.#credentials?.device_id;
  }

  /**
   * Enrols with a code and waits, polling at the server's interval, until an operator approves
   * (or the code auto-approves). Throws `EnrollmentRefusedError` when denied or expired.
   */
  async enroll(
    request: AgentEnrollmentRequest,
    options: { signal?: AbortSignal } = {},
  ): Promise<AgentCredentials> {
    const first = await this.#anonymous.agent.enroll(
      request,
      options.signal ? { signal: options.signal } : {},
    );
    let status: AgentEnrollmentStatus | typeof first = first;
    while (status.status === 'pending') {
      await sleep((status.poll_interval_seconds ?? 5) * 1000, options.signal);
      status = await this.#anonymous.agent.pollEnrollment(
        { request_id: first.request_id, poll_token: 'poll_token' in first ? first.poll_token : '' },
        {},
        options.signal ? { signal: options.signal } : {},
      );
    }
    if (status.status !== 'approved' || !('credentials' in status) || !status.credentials) {
      throw new EnrollmentRefusedError(
        status.status === 'denied' ? 'denied' : 'expired',
        'deny_reason' in status ? status.deny_reason : null,
      );
    }
    await this.#adopt(status.credentials);
    return status.credentials;
  }

  /** Sends one heartbeat; the answer says when to send the next and how many commands wait. */
  heartbeat(body: AgentHeartbeat): Promise<AgentHeartbeatAck> {
    return this.#authenticated((client) => client.agent.sendHeartbeat(body));
  }

  /** Waits up to `waitSeconds` (≤ 30) for commands; returns as soon as one is queued. */
  async pollCommands(waitSeconds: number, signal?: AbortSignal): Promise<AgentCommand[]> {
    const batch = await this.#authenticated((client) =>
      client.agent.pollCommands(
        { wait_seconds: waitSeconds },
        // The client adds `wait_seconds` to the timeout: 15 s is the margin beyond the wait.
        { timeout: 15_000, ...(signal ? { signal } : {}) },
      ),
    );
    return batch.data;
  }

  /** The desired configuration: monitored processes, heartbeat interval, poll wait. */
  config(): Promise<AgentConfig> {
    return this.#authenticated((client) => client.agent.getConfig());
  }

  /** Reports something that happened on the machine (a crashed process, a full disk, …). */
  async sendEvent(event: AgentEventCreate): Promise<void> {
    await this.#authenticated((client) => client.agent.sendEvent(event));
  }

  /** Uploads the machine's hardware, software and services; operators read it on the device. */
  async uploadInventory(report: InventoryReport): Promise<void> {
    await this.#authenticated((client) => client.agent.uploadInventory(report));
  }

  /** Uploads a JPEG screenshot (the server keeps the last 20). */
  async uploadScreenshot(image: JpegImage): Promise<void> {
    await this.#authenticated((client) => client.agent.uploadScreenshot(image));
  }

  /**
   * Downloads this device's build of the update its heartbeat asked for
   * (`GET /v1/agent/update/{platform}`): the `Response`, its body unread, to stream to a file.
   */
  downloadUpdate(platform: AgentPlatform, options: { signal?: AbortSignal } = {}): Promise<Response> {
    return this.#authenticated((client) => client.agent.downloadUpdate(platform, options));
  }

  /** Reports how an update the heartbeat asked for went (`POST /v1/agent/update-result`). */
  async reportUpdate(result: AgentUpdateResult): Promise<void> {
    await this.#authenticated((client) => client.agent.reportUpdateResult(result));
  }

  /** Runs one command with its handler and reports the outcome. */
  async execute(
    command: AgentCommand,
    handlers: Record<string, CommandHandler>,
    stop?: AbortSignal,
  ): Promise<AgentCommandOutcome> {
    const started = Date.now();
    const handler = handlers[command.type];
    const signals = [AbortSignal.timeout(command.timeout_seconds * 1000), ...(stop ? [stop] : [])];
    const context: CommandContext = {
      signal: AbortSignal.any(signals),
      progress: async (update) => {
        await this.#authenticated((client) => client.agent.reportCommandProgress(command.id, update));
      },
    };
    let result: CommandResult;
    try {
      result = handler
        ? await handler(command, context)
        : { status: 'failed', error: `this agent does not support command type ${command.type}` };
    } catch (error) {
      result = {
        status: 'failed',
        error: (error instanceof Error ? error.message : String(error)).slice(0, 2000),
      };
    }
    const stdout = tail(result.stdout);
    const stderr = tail(result.stderr);
    const outcome: AgentCommandOutcome = {
      ...result,
      status:
        result.status ?? (result.exit_code === undefined || result.exit_code === 0 ? 'succeeded' : 'failed'),
      duration_ms: Date.now() - started,
      ...(stdout.text === undefined ? {} : { stdout: stdout.text }),
      ...(stdout.truncated ? { stdout_truncated: true } : {}),
      ...(stderr.text === undefined ? {} : { stderr: stderr.text }),
      ...(stderr.truncated ? { stderr_truncated: true } : {}),
    };
    await this.#authenticated((client) => client.agent.reportCommandResult(command.id, outcome));
    return outcome;
  }

  /**
   * Heartbeats and answers commands until `signal` aborts, then resolves. Transient errors are
   * passed to `onError` and waited out; losing the credentials (a 401 that a refresh cannot
   * fix: revoked, device deleted, refresh token reused) rejects, since only enrolling again helps.
   */
  async run(options: RunOptions): Promise<void> {
    const { signal } = options;
    const loop = async (step: () => Promise<void>): Promise<void> => {
      while (!signal.aborted) {
        try {
          await step();
        } catch (error) {
          if (signal.aborted) return;
          if (error instanceof AuthenticationError) throw error;
          options.onError?.(error);
          await sleep(options.errorDelayMs ?? 5000, signal).catch(() => undefined);
        }
      }
    };
    let configVersion: AgentHeartbeatAck['config_version'] | undefined;
    const followConfig = async (version: AgentHeartbeatAck['config_version'] | undefined): Promise<void> => {
      if (!options.onConfig || (version !== undefined && version === configVersion)) return;
      const config = await this.config();
      configVersion = config.version;
      await options.onConfig(config);
    };
    await Promise.all([
      loop(async () => {
        const ack = await this.heartbeat(await options.heartbeat());
        options.onHeartbeat?.(ack);
        await followConfig(ack.config_version);
        await sleep(ack.next_heartbeat_seconds * 1000, signal).catch(() => undefined);
      }),
      loop(async () => {
        for (const command of await this.pollCommands(Math.min(30, options.pollWaitSeconds ?? 30), signal)) {
          // Not inside `onCommand?.(…)`: optional chaining would skip running the command too.
          const outcome = await this.execute(command, options.handlers, signal);
          options.onCommand?.(command, outcome);
        }
      }),
    ]);
  }

  #clientOptions(token?: string): MeridianOptions {
    const { credentials: _saved, onCredentials: _persist, ...client } = this.#options;
    return { ...client, ...(token === undefined ? {} : { token }) };
  }

  #use(credentials: AgentCredentials): void {
    this.#credentials = credentials;
    this.#client = new Meridian(this.#clientOptions(credentials.access_token));
  }

  async #adopt(credentials: AgentCredentials): Promise<void> {
    this.#use(credentials);
    await this.#options.onCredentials?.(credentials);
  }

  /** Calls with the access token; on `token_expired` refreshes (once, shared) and calls again. */
  async #authenticated<T>(call: (client: Meridian) => PromiseLike<T>): Promise<T> {
    const client = this.#client;
    const credentials = this.#credentials;
    if (!client || !credentials) throw new Error('MeridianAgent: enrol first (or pass saved credentials)');
    try {
      return await call(client);
    } catch (error) {
      if (!(error instanceof AuthenticationError) || error.code !== 'token_expired') throw error;
      // Another call may already have refreshed (or be refreshing) since this one started.
      if (this.#credentials === credentials) {
        this.#refreshing ??= this.#anonymous.agent
          .refreshToken({ refresh_token: credentials.refresh_token })
          .then((fresh) => this.#adopt(fresh))
          .finally(() => {
            this.#refreshing = undefined;
          });
        await this.#refreshing;
      }
      return call(this.#client!);
    }
  }
}

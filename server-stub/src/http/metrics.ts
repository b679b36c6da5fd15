/**
 * Prometheus metrics (prom-client), in a registry of this server's own: tests start many servers
 * in one process, and each must count only its own requests. Served at `GET /metrics` with the
 * `metrics:read` scope (meta-handlers.ts), and without credentials on `metricsPort` when set.
 */
import { createServer, type Server } from 'node:http';
import type { RequestHandler } from 'express';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { operationIdOf } from './route';

/** The names of the background workers, as the `worker` label gives them. */
const WORKERS = [
  'webhook-deliveries',
  'notifications',
  'jobs',
  'schedules',
  'sweeps',
  'alert-evaluation',
  'rollouts',
] as const;
export type WorkerName = (typeof WORKERS)[number];

/** Requests that reached no operation (the docs, the spec, a 404) are counted under this name. */
const NO_OPERATION = 'none';
const HEARTBEAT_OPERATION = 'sendAgentHeartbeat';

export class ServerMetrics {
  readonly registry = new Registry();

  private readonly requests = new Counter({
    name: 'meridian_http_requests_total',
    help: 'HTTP requests answered, by operation (operationId in the spec) and status.',
    labelNames: ['operation', 'status'] as const,
    registers: [this.registry],
  });

  private readonly durations = new Histogram({
    name: 'meridian_http_request_duration_seconds',
    help: 'Time from receiving a request to the end of its response, by operation and status.',
    labelNames: ['operation', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  private readonly heartbeats = new Counter({
    name: 'meridian_agent_heartbeats_total',
    help: 'Heartbeats accepted from agents.',
    registers: [this.registry],
  });

  /** Event streams (SSE, `GET /v1/events/stream`) open now. */
  readonly eventStreams = new Gauge({
    name: 'meridian_event_streams_open',
    help: 'Event streams (server-sent events) open now.',
    registers: [this.registry],
  });

  private readonly passes = new Counter({
    name: 'meridian_background_runs_total',
    help: 'Passes of background work run, by worker.',
    labelNames: ['worker'] as const,
    registers: [this.registry],
  });

  private readonly items = new Counter({
    name: 'meridian_background_items_total',
    help: 'Items the background workers handled (deliveries, notifications, runs, devices, incidents…).',
    labelNames: ['worker'] as const,
    registers: [this.registry],
  });

  private readonly failures = new Counter({
    name: 'meridian_background_failures_total',
    help: 'Passes of background work that failed, by worker.',
    labelNames: ['worker'] as const,
    registers: [this.registry],
  });

  /** `countCommands` reads the commands per state from the database at each scrape. */
  constructor(countCommands: () => Promise<{ state: string; count: number }[]>) {
    new Gauge({
      name: 'meridian_commands',
      help: 'Commands in the database, by state.',
      labelNames: ['state'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        // Without the database the other metrics are still served, this one left out (GET /ready tells why).
        const counts = await countCommands().catch(() => []);
        for (const { state, count } of counts) this.set({ state }, count);
      },
    });
    // Every worker's series from 0, so that rates and increases work from the first pass.
    for (const worker of WORKERS)
      for (const counter of [this.passes, this.items, this.failures]) counter.inc({ worker }, 0);
    collectDefaultMetrics({ register: this.registry, prefix: 'meridian_' });
  }

  /** Counts each request and its duration when its response ends (or its connection closes). */
  readonly countRequests: RequestHandler = (req, res, next) => {
    const stop = this.durations.startTimer();
    res.once('close', () => {
      const labels = { operation: operationIdOf(req) ?? NO_OPERATION, status: String(res.statusCode) };
      stop(labels);
      this.requests.inc(labels);
      if (labels.operation === HEARTBEAT_OPERATION && res.statusCode < 300) this.heartbeats.inc();
    });
    next();
  };

  /** Runs one pass of background work, counting it, the items it reports handling, and its failure. */
  async pass<T>(worker: WorkerName, work: () => Promise<T>, itemsOf: (result: T) => number): Promise<T> {
    this.passes.inc({ worker });
    try {
      const result = await work();
      this.items.inc({ worker }, itemsOf(result));
      return result;
    } catch (error) {
      this.failures.inc({ worker });
      throw error;
    }
  }

  /** The exposition: Prometheus text format, with its content type. */
  async scrape(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}

/** A server answering only `GET /metrics`, without credentials (keep its port off the internet). */
export async function listenForMetrics(
  metrics: ServerMetrics,
  port: number,
  host: string,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || new URL(req.url ?? '/', 'http://metrics').pathname !== '/metrics') {
      res
        .writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' })
        .end('Not found: only GET /metrics\n');
      return;
    }
    metrics.scrape().then(
      ({ contentType, text }) => res.writeHead(200, { 'Content-Type': contentType }).end(text),
      () => res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Metrics failed\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : port };
}

import { collectDefaultMetrics, Counter, Gauge, Histogram, register, type CounterConfiguration } from 'prom-client';

/**
 * Every Prometheus metric the platform exposes, in one place (issue 17 §1), so that docs/OPERATIONS.md,
 * the Grafana dashboard (ops/grafana/provisio-dashboard.json) and test/metrics.test.ts have one list
 * to agree with. One registry per process: prom-client's default one, which /metrics serves.
 *
 * Labels are bounded sets only: a broker name, an error code of the catalogue, a reply code, a
 * store method, a route template. Never a clientId, an account or a raw URL: each value is a time
 * series kept by Prometheus, and a fleet of millions would be millions of series.
 *
 * Updates are on the hot path (every CONNECT, every provision message): label children the code
 * knows in advance are made once (`child`), so an update is a counter increment.
 */
export const metricsRegistry = register;

/** The two brokers of the platform, the `broker` label. */
export type BrokerName = 'provision' | 'account';

let processMetricsStarted = false;

/** CPU, memory, event-loop lag, open handles, GC (prom-client's default collectors, prefixed provisio_). Once per process. */
export function startProcessMetrics(): void {
  if (processMetricsStarted) return;
  processMetricsStarted = true;
  collectDefaultMetrics({ register, prefix: 'provisio_' });
}

function counter<L extends string>(config: CounterConfiguration<L>): Counter<L> {
  return new Counter({ registers: [register], ...config });
}

/** Seconds: from a fraction of a millisecond (a cached store read) to tens of seconds (a store under load). */
const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const brokerConnectsAccepted = counter({
  name: 'provisio_broker_connects_accepted_total',
  help: 'MQTT CONNECTs accepted (CONNACK 0), by broker.',
  labelNames: ['broker'] as const,
});

export const brokerConnectsRefused = counter({
  name: 'provisio_broker_connects_refused_total',
  help: 'MQTT CONNECTs refused, by broker and reason (the error code of docs/ERRORS.md that chose the CONNACK code).',
  labelNames: ['broker', 'reason'] as const,
});

/** Read at scrape time from each broker's own count (aedes connectedClients): nothing to keep in step. */
const connectedClientSources = new Map<object, { broker: BrokerName; count: () => number }>();

// Registered and read at the scrape only (collect): nothing of ours sets it, so it has no name here.
new Gauge({
  name: 'provisio_broker_connected_clients',
  help: 'MQTT clients connected now, by broker (devices, and on the provision broker the platform\u2019s own workers).',
  labelNames: ['broker'] as const,
  registers: [register],
  collect() {
    const totals: Record<BrokerName, number> = { provision: 0, account: 0 };
    for (const source of connectedClientSources.values()) totals[source.broker] += source.count();
    for (const [broker, value] of Object.entries(totals)) this.set({ broker }, value);
  },
});

/**
 * Counts a broker's connected clients in provisio_broker_connected_clients until the returned
 * function is called (at the broker's close): the all-in-one and the tests run several brokers in one process.
 */
export function countConnectedClients(broker: BrokerName, count: () => number): () => void {
  const key = {};
  connectedClientSources.set(key, { broker, count });
  return () => connectedClientSources.delete(key);
}

export const provisionAttempts = counter({
  name: 'provisio_provision_attempts_total',
  help: 'Provision messages handled, by outcome: success (a certificate sent, new or repeated), silent (a duplicate another worker answers), or the error code of the refusal.',
  labelNames: ['outcome'] as const,
});

export const provisionAttemptDuration = new Histogram({
  name: 'provisio_provision_attempt_duration_seconds',
  help: 'Time from a provision message taken to its reply published, by result (success or refused).',
  labelNames: ['result'] as const,
  buckets: latencyBuckets,
  registers: [register],
});

export const provisionCompletions = counter({
  name: 'provisio_provision_completions_total',
  help: 'Provisioning completions accepted (the device reported its certificate installed: the request is COMPLETED).',
});

export const provisionReplies = counter({
  name: 'provisio_provision_replies_total',
  help: 'Signed replies published to devices on REPLY topics, by message (provision or complete) and response code (200, 400, 403, 404, 409, 429, 500, 503).',
  labelNames: ['message', 'code'] as const,
});

export const deviceBirths = counter({
  name: 'provisio_device_births_total',
  help: 'Valid birth messages handled (a device online on the account broker; one per device per throttle interval at most).',
});

export const certificatesIssued = counter({
  name: 'provisio_certificates_issued_total',
  help: 'Device certificates signed by the issuing CA (provisioning and renewal).',
});

export const certificateRenewals = counter({
  name: 'provisio_certificate_renewals_total',
  help: 'Certificate renewal requests (CERT-V1) answered, by outcome: success, or the error code of the refusal.',
  labelNames: ['outcome'] as const,
});

export const configurationPushes = counter({
  name: 'provisio_configuration_pushes_total',
  help: 'Configurations sent to devices (CONF-V1), by cause: birth (a device came online out of date) or notice (a fleet change).',
  labelNames: ['cause'] as const,
});

export const configurationResults = counter({
  name: 'provisio_configuration_results_total',
  help: 'Configuration results reported by devices (CONF-V1), by result (APPLIED or REFUSED).',
  labelNames: ['result'] as const,
});

export const jobDeviceReports = counter({
  name: 'provisio_update_job_device_reports_total',
  help: 'Update job progress reports (JOB-V1) that changed a device\u2019s state in its job, by state (DOWNLOADING, INSTALLED, FAILED).',
  labelNames: ['state'] as const,
});

export const provisionStreamClaimed = counter({
  name: 'provisio_provision_stream_claimed_total',
  help: 'Cluster: provision stream entries a worker claimed after another left them unacknowledged (XAUTOCLAIM).',
});

/** The provision stream as Redis sees it at scrape time: one source per process that reads the stream (cluster only). */
export interface StreamDepth {
  /** Entries in the stream (XLEN). */
  readonly length: number;
  /** Entries delivered to a worker and not acknowledged yet (XPENDING). */
  readonly pending: number;
}

let streamDepthSource: (() => Promise<StreamDepth>) | null = null;
/** The read of the scrape under way: both gauges are collected at once and share it. */
let streamDepthRead: Promise<StreamDepth | null> | null = null;

function readStreamDepth(): Promise<StreamDepth | null> {
  const source = streamDepthSource;
  if (!source) return Promise.resolve(null);
  // Redis unreachable: the gauges keep their last values; readiness (/readyz) says why.
  streamDepthRead ??= source()
    .catch(() => null)
    .finally(() => {
      streamDepthRead = null;
    });
  return streamDepthRead;
}

// Both registered and read at the scrape only (collect).
new Gauge({
  name: 'provisio_provision_stream_length',
  help: 'Cluster: entries in the Redis provision stream (XLEN; entries are trimmed, so it is bounded by the trim length).',
  registers: [register],
  async collect() {
    const depth = await readStreamDepth();
    if (depth) this.set(depth.length);
  },
});

new Gauge({
  name: 'provisio_provision_stream_pending',
  help: 'Cluster: provision stream entries delivered to a worker and not acknowledged yet (XPENDING); a count that keeps growing means stuck workers.',
  registers: [register],
  async collect() {
    const depth = await readStreamDepth();
    if (depth) this.set(depth.pending);
  },
});

/**
 * Where provisio_provision_stream_length and _pending are read from (two Redis commands per scrape),
 * until the returned function is called.
 */
export function readStreamDepthWith(source: () => Promise<StreamDepth>): () => void {
  streamDepthSource = source;
  return () => {
    if (streamDepthSource === source) streamDepthSource = null;
  };
}

export const storeCallDuration = new Histogram({
  name: 'provisio_store_call_duration_seconds',
  help: 'Provision store calls (SQLite or Redis), by store method and result (ok or error).',
  labelNames: ['method', 'result'] as const,
  buckets: latencyBuckets,
  registers: [register],
});

export const httpRequests = counter({
  name: 'provisio_http_requests_total',
  help: 'HTTP requests answered by the admin API, by method, route template (/api/v1/accounts/:accountId, never the raw path) and status code.',
  labelNames: ['method', 'route', 'status'] as const,
});

export const httpRequestDuration = new Histogram({
  name: 'provisio_http_request_duration_seconds',
  help: 'Time to answer HTTP requests of the admin API, by method and route template.',
  labelNames: ['method', 'route'] as const,
  buckets: latencyBuckets,
  registers: [register],
});

/** The exposition: Prometheus text format 0.0.4. */
export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  return { contentType: register.contentType, body: await register.metrics() };
}

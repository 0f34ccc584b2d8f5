import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { withinTime } from '../shared/time-limit.js';

/** How long a scrape waits for its database gauges. */
const REFRESH_TIMEOUT_MS = 2000;

/** Past this many distinct operation names, further names are counted as "other". */
const MAX_OPERATION_NAMES = 200;
const SANE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** How a finished GraphQL operation is counted. */
export interface OperationRecord {
  readonly transport: 'http' | 'ws';
  readonly name: string | null;
  /** query, mutation, subscription; "unknown" when the document did not resolve to one. */
  readonly type: string;
  /** "ok", or the first error's `extensions.code`. */
  readonly outcome: string;
  /** Omitted for subscriptions (their lifetime is not a latency). */
  readonly seconds?: number;
}

/**
 * The metrics of one app instance, in their own registry (several apps may share a process).
 * Counters and histograms are updated where things happen; gauges that describe the database
 * are refreshed by `render()` just before each scrape.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly refreshers: Array<() => Promise<void>> = [];
  private refreshing: Promise<void> | null = null;
  private readonly operationNames = new Set<string>();

  readonly operations = new Counter({
    name: 'handover_graphql_operations_total',
    help: 'GraphQL operations finished, by transport, operation name, type and outcome (ok or the error code)',
    labelNames: ['transport', 'operation', 'type', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly operationSeconds = new Histogram({
    name: 'handover_graphql_operation_duration_seconds',
    help: 'Time to answer a GraphQL query or mutation, by transport, operation name and type',
    labelNames: ['transport', 'operation', 'type'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly routingDecisions = new Counter({
    name: 'handover_routing_decisions_total',
    help: 'Committed routing decisions, by kind (what started them), outcome and first skip reason',
    labelNames: ['kind', 'outcome', 'reason'] as const,
    registers: [this.registry],
  });
  readonly routingSeconds = new Histogram({
    name: 'handover_routing_decision_duration_seconds',
    help: 'Time from the start of a routing decision to its write (locks and picks included), by kind',
    labelNames: ['kind'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly slBreaches = new Counter({
    name: 'handover_sl_breaches_total',
    help: 'SL clocks marked breached by this instance',
    registers: [this.registry],
  });
  readonly sweepSeconds = new Histogram({
    name: 'handover_sweep_duration_seconds',
    help: 'Duration of sweep rounds (SL breaches, auto-logout, safety drain, expired sessions)',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly sweepFailures = new Counter({
    name: 'handover_sweep_failures_total',
    help: 'Sweep rounds that failed',
    registers: [this.registry],
  });
  readonly refreshFailures = new Counter({
    name: 'handover_metrics_refresh_failures_total',
    help: 'Scrapes whose database gauges could not be read within 2 s (they keep the values read before)',
    registers: [this.registry],
  });
  readonly transactionRetries = new Counter({
    name: 'handover_transaction_retries_total',
    help: 'Transactions run again after a deadlock, serialization failure or lock timeout, by cause',
    labelNames: ['cause'] as const,
    registers: [this.registry],
  });
  readonly loginRefusals = new Counter({
    name: 'handover_login_throttled_total',
    help: 'Logins refused with TOO_MANY_REQUESTS, by the limit that was used up (email or address)',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });
  readonly tokenLookups = new Counter({
    name: 'handover_token_lookups_total',
    help: 'Bearer tokens (other than ADMIN_TOKEN) resolved to a caller, by where the answer came from (cache or database)',
    labelNames: ['from'] as const,
    registers: [this.registry],
  });
  readonly tokenCacheEntries = new Gauge({
    name: 'handover_token_cache_entries',
    help: 'Tokens whose caller this instance holds in memory',
    registers: [this.registry],
  });
  readonly webSocketConnections = new Gauge({
    name: 'handover_websocket_connections',
    help: 'Authenticated WebSocket connections open on this instance',
    registers: [this.registry],
  });
  readonly webSocketSubscriptions = new Gauge({
    name: 'handover_websocket_subscriptions',
    help: 'Subscriptions open on this instance, by root field',
    labelNames: ['field'] as const,
    registers: [this.registry],
  });
  readonly eventLogHead = new Gauge({
    name: 'handover_event_log_head_position',
    help: 'Newest committed position of the event log',
    registers: [this.registry],
  });
  readonly eventLogDelivered = new Gauge({
    name: 'handover_event_log_delivered_position',
    help: "Newest event log position this instance has delivered to its subscribers (head minus this = this instance's lag)",
    registers: [this.registry],
  });
  readonly queuedDialogs = new Gauge({
    name: 'handover_queued_dialogs',
    help: 'Dialogs waiting in Help, by the group they are aimed at ("none" without one)',
    labelNames: ['group'] as const,
    registers: [this.registry],
  });
  readonly oldestQueuedSeconds = new Gauge({
    name: 'handover_queue_oldest_wait_seconds',
    help: 'Wait of the longest-queued dialog, by group ("none" without one)',
    labelNames: ['group'] as const,
    registers: [this.registry],
  });
  readonly helpQueued = new Gauge({
    name: 'handover_help_queued_dialogs',
    help: 'All dialogs waiting in Help',
    registers: [this.registry],
  });
  readonly helpOldestSeconds = new Gauge({
    name: 'handover_help_oldest_wait_seconds',
    help: 'Wait of the longest-queued dialog in Help (0 when empty)',
    registers: [this.registry],
  });
  readonly runningSlClocks = new Gauge({
    name: 'handover_sl_running_clocks',
    help: 'SL clocks running now, by SL group ("none" for the server defaults)',
    labelNames: ['group'] as const,
    registers: [this.registry],
  });
  readonly slPercent = new Gauge({
    name: 'handover_sl_percent_last_15m',
    help: 'Met ÷ decided SL clocks over the last 15 minutes × 100, by group ("all" for the server); absent when none decided',
    labelNames: ['group'] as const,
    registers: [this.registry],
  });
  readonly dbPoolInUse = new Gauge({
    name: 'handover_db_pool_connections_in_use',
    help: 'Database connections of this instance lent out',
    registers: [this.registry],
  });
  readonly dbPoolWaiting = new Gauge({
    name: 'handover_db_pool_acquires_waiting',
    help: 'Requests of this instance waiting for a database connection',
    registers: [this.registry],
  });

  readonly webhookDeliveries = new Counter({
    name: 'handover_webhook_deliveries_total',
    help: 'Webhook delivery attempts made by this instance, by result (delivered, failed, given_up, gone)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly webhookLatencySeconds = new Histogram({
    name: 'handover_webhook_delivery_latency_seconds',
    help: "Time from an event's commit to its webhook's 2xx answer (retries included)",
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400],
    registers: [this.registry],
  });
  readonly webhookEventLag = new Gauge({
    name: 'handover_webhook_event_log_lag',
    help: 'Events between the newest log position and the oldest position the webhook worker has taken up (over active webhooks)',
    registers: [this.registry],
  });
  readonly webhookPendingDeliveries = new Gauge({
    name: 'handover_webhook_pending_deliveries',
    help: 'Webhook deliveries not yet made (due, waiting for a retry, or held back behind an earlier event of their dialog)',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'handover_' });
  }

  /** Runs `refresh` before every scrape (gauges read from the database or the pool). */
  beforeScrape(refresh: () => Promise<void>): void {
    this.refreshers.push(refresh);
  }

  /**
   * The Prometheus text exposition, gauges refreshed first. A database that fails or stops
   * answering does not take the rest with it: after REFRESH_TIMEOUT_MS the scrape answers with
   * the gauges as last read, and counts the failure. A refresh still waiting is waited for again,
   * not started once more: scrapes do not pile up statements on a database that does not answer.
   */
  async render(): Promise<string> {
    this.refreshing ??= this.refreshAll().finally(() => (this.refreshing = null));
    const running = this.refreshing;
    const refreshed = await withinTime(REFRESH_TIMEOUT_MS, false, () => running.then(() => true)).catch(() => false);
    if (!refreshed) this.refreshFailures.inc();
    return this.registry.metrics();
  }

  private async refreshAll(): Promise<void> {
    for (const refresh of this.refreshers) await refresh();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  recordOperation(record: OperationRecord): void {
    const operation = this.operationLabel(record.name);
    this.operations.inc({ transport: record.transport, operation, type: record.type, outcome: record.outcome });
    if (record.seconds !== undefined) {
      this.operationSeconds.observe({ transport: record.transport, operation, type: record.type }, record.seconds);
    }
  }

  /**
   * Clients choose operation names: anything that is not a plain GraphQL name, and names past
   * the first few hundred, share one label value so a client cannot grow the series without end.
   */
  private operationLabel(name: string | null): string {
    if (name === null) return '(anonymous)';
    if (!SANE_NAME.test(name)) return 'other';
    if (this.operationNames.has(name)) return name;
    if (this.operationNames.size >= MAX_OPERATION_NAMES) return 'other';
    this.operationNames.add(name);
    return name;
  }
}

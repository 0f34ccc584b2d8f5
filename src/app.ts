import 'reflect-metadata';
import { Role } from './auth/role.js';
import { TokenKind } from './auth/auth-token.entity.js';
import type { Config } from './config.js';
import { initOrm, migrate, type Orm } from './db/orm.js';
import { handoverSchema } from './schema.js';
import { startServer, type RunningServer } from './server.js';
import { createServices, type Services } from './services.js';
import { systemClock, type Clock } from './shared/clock.js';
import { LogEventBus } from './realtime/event-bus.js';
import { EventLog } from './realtime/event-log.js';
import { closeRevokedSockets } from './realtime/session-sockets.js';
import { topics } from './events/topics.js';
import { viewersEndedBy } from './auth/viewer.js';
import type { DomainEvent } from './events/domain-event.js';
import type { SocketInfo } from './realtime/socket-registry.js';
import { Sweeper } from './sl/sweeper.js';
import { Metrics } from './observability/metrics.js';
import { registerDatabaseGauges } from './observability/database-gauges.js';
import { createLogger, loggable, type LogDestination, type Logger } from './shared/logger.js';
import { onTransactionRetry } from './shared/transaction.js';
import { withinTime } from './shared/time-limit.js';

export interface AppOptions {
  readonly config: Config;
  /** Overrides `config.databaseUrl` (the embedded server's URL). */
  readonly databaseUrl?: string;
  readonly clock?: Clock;
  /** Sees every SQL statement (tests and benchmarks count them). */
  readonly onQuery?: (sql: string) => void;
  /** Port override (0 = any free port). */
  readonly port?: number;
  /** Where the JSON log lines go (default stdout). */
  readonly logDestination?: LogDestination;
}

export interface App {
  readonly orm: Orm;
  readonly services: Services;
  readonly server: RunningServer;
  /** Periodic SL, auto-logout and queue work (runOnce() for tests). */
  readonly sweeper: Sweeper;
  readonly url: string;
  readonly logger: Logger;
  stop(): Promise<void>;
}

/** ORM → migrations → schema → server. `stop()` undoes it in reverse order, once. */
export async function startApp(options: AppOptions): Promise<App> {
  const { config } = options;
  const databaseUrl = options.databaseUrl ?? config.databaseUrl;
  if (!databaseUrl) throw new Error('no database URL');
  const clock = options.clock ?? systemClock;
  const logger = createLogger({ level: config.logLevel, destination: options.logDestination });
  const metrics = new Metrics();

  const orm = await initOrm({
    databaseUrl,
    poolSize: config.dbPoolSize,
    onQuery: options.onQuery,
    onPoolWarning: (message) => logger.warn({ message }, 'database pool'),
  });
  // What has been started so far, stopped in reverse order by stop() or by a failed start.
  const started: Array<() => Promise<void> | void> = [() => orm.close(true)];
  // Every step runs even when one fails (the database connections must still close); the
  // first failure is rethrown so the caller can report it.
  const stopStarted = async (): Promise<void> => {
    let failure: { error: unknown } | undefined;
    for (const stop of started.splice(0).reverse()) {
      try {
        await stop();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
  };
  try {
    await migrate(orm);
    started.push(
      onTransactionRetry((cause, attempt, maxAttempts) => {
        metrics.transactionRetries.inc({ cause });
        logger.warn({ cause, attempt, maxAttempts }, 'transaction retried');
      }),
    );
    const eventLog = new EventLog(clock);
    const bus = new LogEventBus(databaseUrl, orm.em, eventLog, (message) => logger.warn(message));
    await bus.start();
    started.push(() => bus.stop());
    const services = createServices(config, clock, eventLog, bus, orm.em, { metrics, logger }, databaseUrl);
    // Cached viewers whose session ended or token was revoked are evicted by the instance that
    // commits the change at once, before the mutation answers; by the others when the log
    // delivers it (and while the listener is down, the cache is not used).
    const { viewers } = services.auth;
    const evictEnded = (event: DomainEvent): void => {
      const which = viewersEndedBy(event);
      if (which) viewers.evict(which);
    };
    eventLog.onAppended((events) => events.forEach(evictEnded));
    bus.subscribe(topics.sessions, ({ event }) => evictEnded(event));
    bus.onListeningChanged((listening) => viewers.setFollowing(listening));
    services.slTicker.start();
    started.push(() => services.slTicker.stop());
    await services.webhookWorker.start();
    started.push(() => services.webhookWorker.stop());
    // The presence heartbeat reads this process's sockets once the server has them.
    const connected: { sockets: ReadonlySet<SocketInfo> } = { sockets: new Set() };
    const sweeper = new Sweeper(orm.em, services, () =>
      [...connected.sockets].flatMap((info) => (info.viewer.operatorId === null ? [] : [info.viewer.operatorId])),
    );
    sweeper.start(config.sweepIntervalMs);
    started.push(() => sweeper.stop());
    const schema = await handoverSchema();
    const server = await startServer({
      schema,
      rootEm: orm.em,
      services,
      port: options.port ?? config.port,
      host: config.host,
      // Within READY_TIMEOUT_MS: a database that stopped answering (a partition, a hung server)
      // is not ready, and a probe waiting for it would hang as long as its connections do.
      ready: () =>
        withinTime(READY_TIMEOUT_MS, false, async () => {
          // Without the event listener, subscribers would silently miss events.
          const [listening] = await Promise.all([bus.listenerAnswers(), orm.em.fork().execute('select 1')]);
          if (!listening) return false;
          return (await orm.getMigrator().getPendingMigrations()).length === 0;
        }),
    });
    started.push(() => server.stop());
    connected.sockets = server.sockets;
    registerDatabaseGauges(metrics, orm.em, clock);
    metrics.beforeScrape(async () => metrics.webSocketConnections.set(server.sockets.size));
    metrics.beforeScrape(async () => metrics.tokenCacheEntries.set(services.auth.viewers.size()));
    metrics.beforeScrape(async () => {
      // Delivered first: read after it, the head can only be newer, so the lag is never negative.
      metrics.eventLogDelivered.set(bus.position());
      metrics.eventLogHead.set(await eventLog.head(orm.em.fork()));
      const { lag, pending } = await services.webhookWorker.backlog(orm.em.fork());
      metrics.webhookEventLag.set(lag);
      metrics.webhookPendingDeliveries.set(pending);
    });
    // Ended sessions (logout, auto-logout, expiry, deletion) and revoked API tokens lose
    // their sockets on every instance.
    bus.subscribe(topics.sessions, ({ event }) => {
      const which = viewersEndedBy(event);
      if (!which) return;
      closeRevokedSockets(orm.em.fork(), server, services.clock.now(), which).catch((error: unknown) =>
        logger.error({ err: loggable(error) }, 'could not re-check WebSocket sessions'),
      );
    });
    let stopping: Promise<void> | undefined;
    return {
      orm,
      services,
      server,
      sweeper,
      url: server.url,
      logger,
      stop: () => {
        stopping ??= stopStarted();
        return stopping;
      },
    };
  } catch (error) {
    await stopStarted().catch((stopError: unknown) =>
      logger.error({ err: loggable(stopError) }, 'cleanup after a failed start failed'),
    );
    throw error;
  }
}

/**
 * When no ADMIN_TOKEN is configured, the first start on a database issues an ADMIN API token
 * (stored hashed like any other) and returns it so it can be shown once.
 */
export async function bootstrapAdminToken(app: App): Promise<string | null> {
  if (app.services.config.adminToken) return null;
  const em = app.orm.em.fork();
  const existing = await em.execute<unknown[]>(`select 1 from auth_tokens where kind = ? and role = ? and name = ? limit 1`, [
    TokenKind.API,
    Role.ADMIN,
    BOOTSTRAP_TOKEN_NAME,
  ]);
  if (existing.length) return null;
  const issued = await app.services.apiTokens.create(em, BOOTSTRAP_TOKEN_NAME, Role.ADMIN);
  return issued.token;
}

export const BOOTSTRAP_TOKEN_NAME = 'initial admin';
/** `/readyz` answers 503 when its checks take longer than this. */
export const READY_TIMEOUT_MS = 2000;

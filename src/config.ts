import { LOG_LEVELS, type LogLevel } from './shared/logger.js';
import type { OperationLimits } from './shared/operation-limits.js';
import { normalOrigin, type CorsOrigins } from './shared/cors.js';
import { parseTrustProxy, type TrustProxy } from './shared/client-address.js';

/** Server configuration. The only module that reads `process.env`. */
export interface Config {
  /** HTTP and WebSocket port; 0 picks a free one. */
  readonly port: number;
  /** Interface to listen on; undefined = all. */
  readonly host: string | undefined;
  /** External PostgreSQL server. Without it an embedded server is started. */
  readonly databaseUrl: string | undefined;
  /** Data directory of the embedded PostgreSQL server (and its generated superuser password). */
  readonly dataDir: string;
  /**
   * A bearer token accepted as ADMIN. When unset, the first start on a database issues an ADMIN
   * API token, stored (hashed) in that database and printed once.
   */
  readonly adminToken: string | undefined;
  /** SL targets for dialogs without a group. */
  readonly slDefaultFirstResponseSec: number;
  readonly slDefaultNextResponseSec: number;
  /** How often the auto-logout sweep and SL breach detector run. */
  readonly sweepIntervalMs: number;
  /** How long the event log keeps events (resume, Query.events, webhook redelivery). */
  readonly eventRetentionDays: number;
  /** An ONLINE or AWAY operator with no open WebSocket for this long is logged out (0 = off). */
  readonly presenceGraceSec: number;
  /** At most this many dialogs wait in Help after a hand-off from the bot (0 = no limit). */
  readonly helpQueueMax: number;
  /** Warn this many seconds before an SL deadline (0 = no warning). */
  readonly slWarningSec: number;
  /** Connections in the pool of each server process. */
  readonly dbPoolSize: number;
  /** Largest WebSocket frame accepted; a bigger one closes the socket (1009) before it is parsed. */
  readonly wsMaxPayloadBytes: number;
  /** A WebSocket that has not sent `connection_init` by then is closed (4408). */
  readonly wsConnectionInitTimeoutMs: number;
  /** Operations one WebSocket may have open at once (subscriptions, and queries while they run). */
  readonly wsMaxSubscriptionsPerSocket: number;
  /** `slTicks` subscriptions one WebSocket may have open at once (each costs work every interval). */
  readonly wsMaxSlTicksPerSocket: number;
  /** WebSockets one token may have open on this server process. */
  readonly wsMaxSocketsPerToken: number;
  /** Estimated memory the shared parsed-document cache may hold. */
  readonly wsDocumentCacheBytes: number;
  /** A document estimated bigger than this is parsed for its subscription but not cached. */
  readonly wsDocumentCacheMaxDocumentBytes: number;
  /** Largest HTTP request body; larger ones answer 413. */
  readonly maxBodyBytes: number;
  /** What one GraphQL document may ask for, checked before it runs (HTTP and WebSocket). */
  readonly operationLimits: OperationLimits;
  /** A login session ends this long after its last use (renewed at most once a minute). */
  readonly sessionTtlSec: number;
  /** Failed logins allowed per email, and per client address, within one throttle window. */
  readonly loginMaxFailuresPerEmail: number;
  readonly loginMaxFailuresPerAddress: number;
  readonly loginThrottleWindowSec: number;
  /** The least severe log lines written (JSON lines on stdout). */
  readonly logLevel: LogLevel;
  /** When set, GET /metrics requires `Authorization: Bearer <it>`. */
  readonly metricsToken: string | undefined;
  /** Browser origins allowed to call the API from other sites (CORS and the WebSocket `Origin` check). */
  readonly corsOrigins: CorsOrigins;
  /** On SIGTERM, how long requests in flight may take to finish before their connections are cut. */
  readonly shutdownTimeoutMs: number;
  /** Which proxies' `X-Forwarded-For` names the client (login throttling, request logs); default none. */
  readonly trustProxy: TrustProxy;
  /** Lets webhooks reach loopback, private, link-local and other internal addresses (tests, private setups). */
  readonly webhookAllowPrivateNetworks: boolean;
  /** When set, webhook signing secrets are stored encrypted with a key derived from it. */
  readonly webhookSecretKey: string | undefined;
}

export class ConfigError extends Error {}

const KIB = 1024;
const MIB = 1024 * KIB;

type Env = Readonly<Record<string, string | undefined>>;

function intVar(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer in ${min}..${max}, got "${raw}"`);
  }
  return value;
}

function stringVar(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw ? raw : undefined;
}

function boolVar(env: Env, name: string): boolean {
  const raw = stringVar(env, name)?.toLowerCase();
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function logLevelVar(env: Env): LogLevel {
  const raw = stringVar(env, 'LOG_LEVEL')?.toLowerCase() ?? 'info';
  const level = LOG_LEVELS.find((l) => l === raw);
  if (!level) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
  return level;
}

function corsOriginsVar(env: Env): CorsOrigins {
  const raw = stringVar(env, 'CORS_ORIGINS');
  if (raw === undefined) return [];
  if (raw === '*') return '*';
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item) => {
      const origin = normalOrigin(item);
      if (origin === null) {
        throw new ConfigError(
          `CORS_ORIGINS must be * alone or a comma-separated list of origins like https://app.example.com, got "${item}"`,
        );
      }
      return origin;
    });
}

function trustProxyVar(env: Env): TrustProxy {
  const trust = parseTrustProxy(env['TRUST_PROXY']);
  if (trust === null) {
    throw new ConfigError(
      `TRUST_PROXY must be a number of proxy hops (1..100), or a comma-separated list of proxy addresses and CIDR networks, got "${env['TRUST_PROXY']}"`,
    );
  }
  return trust;
}

function webhookSecretKeyVar(env: Env): string | undefined {
  const key = stringVar(env, 'WEBHOOK_SECRET_KEY');
  if (key !== undefined && key.length < 32) throw new ConfigError('WEBHOOK_SECRET_KEY must be at least 32 characters');
  return key;
}

export function loadConfig(env: Env = process.env): Config {
  const adminToken = stringVar(env, 'ADMIN_TOKEN');
  if (adminToken !== undefined && adminToken.length < 16) {
    throw new ConfigError('ADMIN_TOKEN must be at least 16 characters');
  }
  return {
    port: intVar(env, 'PORT', 4000, 0, 65535),
    host: stringVar(env, 'HOST'),
    databaseUrl: stringVar(env, 'DATABASE_URL'),
    dataDir: stringVar(env, 'DATA_DIR') ?? '.data',
    adminToken,
    slDefaultFirstResponseSec: intVar(env, 'SL_DEFAULT_FIRST_RESPONSE_SEC', 60, 1, 86400),
    slDefaultNextResponseSec: intVar(env, 'SL_DEFAULT_NEXT_RESPONSE_SEC', 120, 1, 86400),
    sweepIntervalMs: intVar(env, 'SWEEP_INTERVAL_MS', 1000, 50, 60000),
    eventRetentionDays: intVar(env, 'EVENT_RETENTION_DAYS', 7, 1, 3650),
    slWarningSec: intVar(env, 'SL_WARNING_SEC', 0, 0, 86400),
    presenceGraceSec: intVar(env, 'PRESENCE_GRACE_SEC', 0, 0, 86400),
    helpQueueMax: intVar(env, 'HELP_QUEUE_MAX', 0, 0, 1_000_000),
    dbPoolSize: intVar(env, 'DB_POOL_SIZE', 10, 1, 200),
    wsMaxPayloadBytes: intVar(env, 'WS_MAX_PAYLOAD_BYTES', 64 * KIB, 1 * KIB, 64 * MIB),
    wsConnectionInitTimeoutMs: intVar(env, 'WS_CONNECTION_INIT_TIMEOUT_MS', 3000, 100, 60_000),
    wsMaxSubscriptionsPerSocket: intVar(env, 'WS_MAX_SUBSCRIPTIONS_PER_SOCKET', 100, 1, 10_000),
    wsMaxSlTicksPerSocket: intVar(env, 'WS_MAX_SL_TICKS_PER_SOCKET', 5, 0, 1000),
    wsMaxSocketsPerToken: intVar(env, 'WS_MAX_SOCKETS_PER_TOKEN', 20, 1, 100_000),
    wsDocumentCacheBytes: intVar(env, 'WS_DOCUMENT_CACHE_BYTES', 32 * MIB, 64 * KIB, 4096 * MIB),
    wsDocumentCacheMaxDocumentBytes: intVar(env, 'WS_DOCUMENT_CACHE_MAX_DOCUMENT_BYTES', 1 * MIB, 1 * KIB, 4096 * MIB),
    maxBodyBytes: intVar(env, 'MAX_BODY_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    operationLimits: {
      tokens: intVar(env, 'MAX_QUERY_TOKENS', 5000, 100, 1_000_000),
      depth: intVar(env, 'MAX_QUERY_DEPTH', 10, 2, 1000),
      aliases: intVar(env, 'MAX_QUERY_ALIASES', 100, 0, 100_000),
      directives: intVar(env, 'MAX_QUERY_DIRECTIVES', 50, 0, 100_000),
      cost: intVar(env, 'MAX_QUERY_COST', 20_000, 100, 1_000_000_000),
    },
    sessionTtlSec: intVar(env, 'SESSION_TTL_SEC', 43200, 600, 2592000),
    loginMaxFailuresPerEmail: intVar(env, 'LOGIN_MAX_FAILURES_PER_EMAIL', 10, 1, 100000),
    loginMaxFailuresPerAddress: intVar(env, 'LOGIN_MAX_FAILURES_PER_ADDRESS', 50, 1, 100000),
    loginThrottleWindowSec: intVar(env, 'LOGIN_THROTTLE_WINDOW_SEC', 900, 1, 86400),
    logLevel: logLevelVar(env),
    metricsToken: stringVar(env, 'METRICS_TOKEN'),
    corsOrigins: corsOriginsVar(env),
    shutdownTimeoutMs: intVar(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    trustProxy: trustProxyVar(env),
    webhookAllowPrivateNetworks: boolVar(env, 'WEBHOOK_ALLOW_PRIVATE_NETWORKS'),
    webhookSecretKey: webhookSecretKeyVar(env),
  };
}

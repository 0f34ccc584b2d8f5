import type { EntityManager } from '@mikro-orm/postgresql';
import {
  getOperationAST,
  GraphQLError,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { makeServer, type ConnectionInitMessage, type SubscribePayload } from 'graphql-ws';
import type { IncomingMessage, Server } from 'node:http';
import { WebSocketServer } from 'ws';
import { bearerToken, type Viewer } from '../auth/viewer.js';
import { createContext } from '../context.js';
import type { Services } from '../services.js';
import { randomUUID } from 'node:crypto';
import { requestClientAddress } from '../shared/client-address.js';
import { loggable, type Logger } from '../shared/logger.js';
import { originAllowed, type CorsOrigins } from '../shared/cors.js';
import { databaseUnavailable } from '../shared/db-errors.js';
import { answeredError, formatReported } from '../shared/format-error.js';
import { outcomeOf } from '../observability/request-plugin.js';
import { costLimitError, operationLimitOf, type OperationLimits } from '../shared/operation-limits.js';
import { sharedDocuments, type DocumentCacheOptions } from './document-cache.js';
import { rootFieldNames, SocketOperations, type OpenOperations } from './socket-operations.js';
import { subscribeSharingResults } from './shared-subscribe.js';
import { SocketRegistry, type SocketInfo } from './socket-registry.js';
import { serveGraphqlWs, type SocketExtra } from './graphql-ws-sockets.js';
import { serializedPayload } from './serialized-payloads.js';

/** Close code for a socket over its token's limit (graphql-ws leaves 4400–4499 to such client errors). */
export const TOO_MANY_CONNECTIONS_CODE = 4429;
/**
 * The database could not serve the authentication of `connection_init`: 1013 (try again later),
 * which graphql-ws clients retry by themselves, as HTTP answers 503. 4500 would end them for good.
 */
export const DATABASE_UNAVAILABLE_CLOSE = { code: 1013, reason: 'The database is unavailable; connect again shortly' } as const;
/** On shutdown every socket closes with 1001 (going away): clients reconnect, to another instance. */
export const SHUTDOWN_CLOSE = { code: 1001, reason: 'server shutting down' } as const;
const KEEP_ALIVE_MS = 12_000;

export interface WebSocketServerOptions {
  readonly httpServer: Server;
  readonly path: string;
  readonly schema: GraphQLSchema;
  readonly rootEm: EntityManager;
  readonly services: Services;
  /** Parse options and validation rules for every operation, on top of graphql-js's own. */
  readonly documents?: Pick<DocumentCacheOptions, 'parseOptions' | 'rules' | 'maxErrors'>;
  /** The operation limits; cost is checked here, once the variables are known. */
  readonly operationLimits: OperationLimits;
}

export interface WebSocketTransport {
  /** The authenticated sockets (who is connected). */
  readonly sockets: ReadonlySet<SocketInfo>;
  /** Estimated memory held by the shared parsed-document cache. */
  documentCacheBytes(): number;
  /** Closes every socket (SHUTDOWN_CLOSE) and stops accepting new ones. */
  dispose(): Promise<void>;
}

/** An operation that passed its checks and runs (or, for a subscription, stays open). */
interface RunningOperation {
  readonly requestId: string;
  readonly name: string | null;
  readonly type: string;
  readonly rootFields: readonly string[];
  readonly startedAt: number;
  /** The first error code it answered, if any. */
  outcome: string;
}

/** What this server keeps on graphql-ws's per-socket context. */
type SocketState = SocketExtra & {
  info?: SocketInfo;
  operations?: SocketOperations;
  running?: Map<string, RunningOperation>;
};

/**
 * Browsers always send `Origin` on a WebSocket and never preflight it: with CORS_ORIGINS set, a
 * page on another site is refused here. No `Origin` is a non-browser client; nothing to check.
 */
function originMayConnect(origins: CorsOrigins, req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined || (origins !== '*' && origins.length === 0)) return true;
  return originAllowed(origins, origin, req.headers.host);
}

function withCode(errors: readonly GraphQLError[], code: string): GraphQLError[] {
  return errors.map(
    (e) =>
      new GraphQLError(e.message, {
        nodes: e.nodes,
        source: e.source,
        positions: e.positions,
        path: e.path,
        originalError: e.originalError,
        // An operation limit keeps its own code.
        extensions: { code, ...e.extensions },
      }),
  );
}

/**
 * ws emits a client's protocol violation (an oversized frame, invalid UTF-8) as an error after
 * it has already closed the socket with the matching code: nothing internal to report.
 */
function onSocketError(logger: Logger, error: Error & { code?: unknown }): void {
  if (typeof error.code === 'string' && error.code.startsWith('WS_ERR_')) return;
  logger.error({ err: { name: error.name, code: error.code, message: error.message } }, 'WebSocket error');
}

/**
 * graphql-ws on `path` of the HTTP server, with the limits a public endpoint needs: frame
 * size, time to authenticate, sockets per token, operations per socket, and a bounded cache
 * of parsed documents. A refused or invalid operation answers an error for its id only; the
 * socket and its other streams carry on.
 */
export function startWebSocketServer(options: WebSocketServerOptions): WebSocketTransport {
  const { schema, rootEm, services } = options;
  const { config } = services;
  const wsServer = new WebSocketServer({
    server: options.httpServer,
    path: options.path,
    maxPayload: config.wsMaxPayloadBytes,
    verifyClient: (info, accept) => accept(originMayConnect(config.corsOrigins, info.req), 403, 'Origin not allowed'),
  });
  const registry = new SocketRegistry(config.wsMaxSocketsPerToken);
  const documents = sharedDocuments({
    ...options.documents,
    maxBytes: config.wsDocumentCacheBytes,
    maxDocumentBytes: config.wsDocumentCacheMaxDocumentBytes,
  });
  const limits = { maxOperations: config.wsMaxSubscriptionsPerSocket, maxSlTicks: config.wsMaxSlTicksPerSocket };

  const { metrics, logger } = services;

  const started = (state: SocketState, id: string, operation: RunningOperation): void => {
    (state.running ??= new Map()).set(id, operation);
    if (operation.type === 'subscription')
      for (const field of operation.rootFields) metrics.webSocketSubscriptions.inc({ field });
  };

  /** Counts an operation once, when it ends (or its socket closes under it). */
  const ended = (state: SocketState, id: string): void => {
    const operation = state.running?.get(id);
    if (!operation) return;
    state.running!.delete(id);
    const subscription = operation.type === 'subscription';
    if (subscription) for (const field of operation.rootFields) metrics.webSocketSubscriptions.dec({ field });
    const seconds = subscription ? undefined : (performance.now() - operation.startedAt) / 1000;
    metrics.recordOperation({ transport: 'ws', name: operation.name, type: operation.type, outcome: operation.outcome, seconds });
    logger.debug(
      {
        requestId: operation.requestId,
        operation: operation.name,
        type: operation.type,
        clientAddress: state.clientAddress,
        outcome: operation.outcome,
      },
      'websocket operation',
    );
  };

  /** The same error policy as HTTP: client errors pass, internal ones are masked and logged. */
  const answerErrors = (state: SocketState, id: string, errors: readonly GraphQLError[]): GraphQLFormattedError[] => {
    const operation = state.running?.get(id);
    const requestId = operation?.requestId ?? randomUUID();
    const answered = errors.map((error) =>
      answeredError(
        formatReported(error, (err) => logger.error({ requestId, operation: operation?.name ?? null, err }, 'internal error')),
        error,
        operation?.type,
        requestId,
      ),
    );
    if (operation && operation.outcome === 'ok') operation.outcome = outcomeOf(answered);
    // Refused before it ran: counted here, as it will never complete.
    if (!operation) metrics.recordOperation({ transport: 'ws', name: null, type: 'unknown', outcome: outcomeOf(answered) });
    return answered;
  };

  /** Limits, parse and validation of one operation; errors answer for its id only. */
  const prepare = (
    ctx: { extra: SocketState; subscriptions: OpenOperations },
    id: string,
    payload: SubscribePayload,
  ): ExecutionArgs | readonly GraphQLError[] => {
    const operations = (ctx.extra.operations ??= new SocketOperations(limits));
    const overTotal = operations.refuseOverTotal(ctx.subscriptions);
    if (overTotal) return [overTotal];
    let document: DocumentNode;
    try {
      document = documents.parse(payload.query);
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      const limit = operationLimitOf(error);
      return limit ? [limit] : withCode([error], 'GRAPHQL_PARSE_FAILED');
    }
    const invalid = documents.validate(schema, document);
    if (invalid.length > 0) return withCode(invalid, 'GRAPHQL_VALIDATION_FAILED');
    const operation = getOperationAST(document, payload.operationName);
    if (!operation) {
      const message = payload.operationName
        ? `Unknown operation named "${payload.operationName}".`
        : 'Must provide operation name if query contains multiple operations.';
      return [new GraphQLError(message, { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } })];
    }
    const tooCostly = costLimitError(
      options.operationLimits,
      schema,
      document,
      payload.variables ?? undefined,
      payload.operationName ?? undefined,
    );
    if (tooCostly) return [tooCostly];
    const rootFields = rootFieldNames(document, operation);
    const overTicking = operations.admit(id, ctx.subscriptions, rootFields);
    if (overTicking) return [overTicking];
    started(ctx.extra, id, {
      requestId: randomUUID(),
      name: operation.name?.value ?? null,
      type: operation.operation,
      rootFields: [...rootFields],
      startedAt: performance.now(),
      outcome: 'ok',
    });
    return { schema, document, operationName: payload.operationName, variableValues: payload.variables };
  };

  const server = makeServer<ConnectionInitMessage['payload'], SocketState>({
    schema,
    connectionInitWaitTimeout: config.wsConnectionInitTimeoutMs,
    subscribe: subscribeSharingResults,
    onConnect: async (ctx) => {
      const token = bearerToken(ctx.connectionParams?.['authorization']);
      let viewer: Viewer | null;
      try {
        viewer = await services.auth.authenticate(rootEm, token);
      } catch (error) {
        if (!databaseUnavailable(error)) throw error;
        logger.error({ err: loggable(error) }, 'internal error');
        ctx.extra.socket.close(DATABASE_UNAVAILABLE_CLOSE.code, DATABASE_UNAVAILABLE_CLOSE.reason);
        return false;
      }
      // Closed while authenticating: onClose has run already, so it must not be registered.
      if (ctx.extra.socket.readyState !== ctx.extra.socket.OPEN) return false;
      if (!viewer) {
        ctx.extra.socket.close(4401, 'Unauthorized');
        return false;
      }
      const info: SocketInfo = { socket: ctx.extra.socket, viewer };
      if (!registry.add(info)) {
        ctx.extra.socket.close(TOO_MANY_CONNECTIONS_CODE, 'Too many connections');
        return false;
      }
      ctx.extra.info = info;
      return true;
    },
    onClose: (ctx) => {
      if (ctx.extra.info) registry.remove(ctx.extra.info);
      for (const id of [...(ctx.extra.running?.keys() ?? [])]) ended(ctx.extra, id);
    },
    onSubscribe: (ctx, id, payload) => prepare(ctx, id, payload),
    onComplete: (ctx, id) => ended(ctx.extra, id),
    context: (ctx, id) =>
      createContext(
        rootEm,
        services,
        ctx.extra.info?.viewer ?? null,
        ctx.extra.clientAddress,
        ctx.extra.running?.get(id)?.requestId,
      ),
    // Errors are answered per operation (its request id); a result without them is the same bytes for every subscriber of it.
    onNext: (ctx, id, _payload, _args, result) =>
      result.errors ? { ...result, errors: answerErrors(ctx.extra, id, result.errors) } : serializedPayload(result),
    onError: (ctx, id, _payload, errors) => answerErrors(ctx.extra, id, errors),
  });
  const sockets = serveGraphqlWs(wsServer, server, {
    keepAliveMs: KEEP_ALIVE_MS,
    clientAddress: (request) => requestClientAddress(request, config.trustProxy),
    // Internal failures close a socket with a generic reason; the details go to the log only.
    onInternalError: (err) => logger.error({ err }, 'WebSocket message handling failed'),
  });
  wsServer.on('error', (error) => logger.error({ err: error }, 'WebSocket server error'));
  wsServer.on('connection', (socket) => socket.on('error', (error) => onSocketError(logger, error)));

  return {
    sockets: registry.sockets,
    documentCacheBytes: () => documents.cachedBytes(),
    dispose: async () => {
      sockets.stop();
      for (const socket of wsServer.clients) socket.close(SHUTDOWN_CLOSE.code, SHUTDOWN_CLOSE.reason);
      await new Promise<void>((resolve, reject) => wsServer.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

import { ApolloServer, HeaderMap } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import type { EntityManager } from '@mikro-orm/postgresql';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bearerToken, type Viewer } from './auth/viewer.js';
import { HttpDrain } from './http-drain.js';
import { requestClientAddress } from './shared/client-address.js';
import { createContext, type Context } from './context.js';
import type { Services } from './services.js';
import { databaseUnavailable } from './shared/db-errors.js';
import { DATABASE_UNAVAILABLE_MESSAGE, DATABASE_UNAVAILABLE_RETRY_AFTER, ErrorCode } from './shared/errors.js';
import { formatError } from './shared/format-error.js';
import { costLimitPlugin, documentChecks } from './shared/operation-limits.js';
import { freshAfterMutation } from './shared/fresh-after-mutation.js';
import { answerCors } from './shared/cors.js';
import { subscriptionsOverHttp } from './shared/subscriptions-over-http.js';
import type { SocketInfo } from './realtime/socket-registry.js';
import { startWebSocketServer, type WebSocketTransport } from './realtime/websocket-server.js';
import { serveMetrics } from './observability/metrics-endpoint.js';
import { requestIdFrom, requestObserver } from './observability/request-plugin.js';
import { loggable } from './shared/logger.js';
import { loadPanel, PANEL_PATH } from './panel/panel.js';

export const GRAPHQL_PATH = '/graphql';

export interface ServerOptions {
  readonly schema: GraphQLSchema;
  readonly rootEm: EntityManager;
  readonly services: Services;
  readonly port: number;
  readonly host?: string | undefined;
  /** Readiness: database reachable and migrated. */
  readonly ready: () => Promise<boolean>;
}

export interface RunningServer {
  readonly url: string;
  readonly wsUrl: string;
  readonly port: number;
  readonly httpServer: Server;
  /** Per-socket data of graphql-ws connections (who is connected). */
  readonly sockets: ReadonlySet<SocketInfo>;
  /** The WebSocket side (its limits and document cache). */
  readonly webSockets: WebSocketTransport;
  /** Closes the WebSockets whose caller matches. */
  closeSockets(match: (viewer: Viewer) => boolean, code: number, reason: string): number;
  /**
   * Graceful: `/readyz` answers 503 and new requests are refused at once, WebSockets close
   * (1001), requests in flight finish (up to SHUTDOWN_TIMEOUT_MS). Rejects when some had to be cut.
   */
  stop(): Promise<void>;
}

class PayloadTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`Request body exceeds ${maxBytes} bytes`);
  }
}

/** The client closed its connection before its request body had arrived: nothing to answer, and nothing failed here. */
class RequestAbortedError extends Error {
  constructor() {
    super('the client closed the connection before its request body arrived');
  }
}

/**
 * The request body as text. A body over `maxBytes` is read to its end and dropped before the
 * answer: a client still sending would otherwise get a connection reset instead of the 413.
 */
function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else chunks.length = 0;
    });
    req.on('end', () =>
      size > maxBytes ? reject(new PayloadTooLargeError(maxBytes)) : resolve(Buffer.concat(chunks).toString('utf8')),
    );
    // Node reports a connection closed mid-body as an 'aborted' ECONNRESET on the request.
    req.on('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ECONNRESET' ? new RequestAbortedError() : error));
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

/** A request that arrived on a kept-alive connection after shutdown began: 503, and the connection closes. */
function refuseWhileStopping(url: URL, res: ServerResponse): void {
  res.setHeader('connection', 'close');
  if (url.pathname === '/readyz') return sendJson(res, 503, { status: 'shutting down' });
  const extensions = { code: ErrorCode.SHUTTING_DOWN };
  sendJson(res, 503, { errors: [{ message: 'The server is shutting down; send the request again', extensions }] });
}

/** One Node http server: Apollo over HTTP and graphql-ws over WebSocket, both on /graphql; the operator panel at /panel. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { schema, rootEm, services } = options;
  const limits = services.config.operationLimits;
  const checks = documentChecks(limits);
  const httpServer = createServer();
  const drain = new HttpDrain(httpServer);
  const webSockets = startWebSocketServer({
    httpServer,
    path: GRAPHQL_PATH,
    schema,
    rootEm,
    services,
    documents: { parseOptions: checks.parseOptions, rules: checks.validationRules, maxErrors: checks.maxErrors },
    operationLimits: limits,
  });

  const apollo = new ApolloServer<Context>({
    schema,
    formatError,
    includeStacktraceInErrorResponses: false,
    // Front-end tooling reads the schema; the same with NODE_ENV=production as without.
    introspection: true,
    stopOnTerminationSignals: false,
    parseOptions: checks.parseOptions,
    validationRules: [...checks.validationRules],
    validationOptions: { maxErrors: checks.maxErrors },
    // No cache hints are given, so Apollo's cache-control plugin would only hook every field of
    // every operation to conclude no-store: the header is set once per response below instead.
    plugins: [
      ApolloServerPluginCacheControlDisabled(),
      costLimitPlugin(limits),
      subscriptionsOverHttp,
      requestObserver,
      freshAfterMutation,
    ],
  });
  await apollo.start();
  const servePanel = await loadPanel();

  const handleGraphql = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const requestId = requestIdFrom(req.headers['x-request-id']);
    res.setHeader('x-request-id', requestId);
    // Answers are per caller and change with every commit: no cache may keep them.
    res.setHeader('cache-control', 'no-store');
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    let body: unknown = undefined;
    if (req.method === 'POST') {
      const raw = await readBody(req, services.config.maxBodyBytes);
      const contentType = headers.get('content-type') ?? '';
      if (contentType.includes('json')) {
        try {
          body = raw.length ? JSON.parse(raw) : undefined;
        } catch {
          sendJson(res, 400, { errors: [{ message: 'Malformed JSON body', extensions: { code: 'BAD_REQUEST' } }] });
          return;
        }
      } else {
        body = raw;
      }
    }
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
      context: async () => {
        try {
          const viewer = await services.auth.authenticate(rootEm, bearerToken(req.headers.authorization));
          return createContext(rootEm, services, viewer, requestClientAddress(req, services.config.trustProxy), requestId);
        } catch (error) {
          // Apollo answers it without running the request plugins, which would log it.
          if (!(error instanceof GraphQLError)) services.logger.error({ requestId, err: loggable(error) }, 'internal error');
          // Nothing of the request has run: the client may simply send it again.
          if (databaseUnavailable(error)) {
            throw new GraphQLError(DATABASE_UNAVAILABLE_MESSAGE, {
              extensions: {
                code: ErrorCode.SERVICE_UNAVAILABLE,
                requestId,
                http: { status: 503, headers: new HeaderMap([['retry-after', DATABASE_UNAVAILABLE_RETRY_AFTER]]) },
              },
            });
          }
          throw error;
        }
      },
    });
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  };

  httpServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (drain.isStopping && url.pathname !== '/healthz') return refuseWhileStopping(url, res);
    drain.track(req, res);
    const handle = async (): Promise<void> => {
      if (url.pathname === GRAPHQL_PATH) {
        if (answerCors(services.config.corsOrigins, req, res)) return;
        return handleGraphql(req, res, url);
      }
      if (url.pathname === '/metrics' && req.method === 'GET')
        return serveMetrics(req, res, services.metrics, services.config.metricsToken);
      if (url.pathname === PANEL_PATH || url.pathname.startsWith(`${PANEL_PATH}/`)) return servePanel(req, res, url.pathname);
      if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
      if (url.pathname === '/readyz') {
        const ready = await options.ready().catch(() => false);
        return sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable' });
      }
      sendJson(res, 404, { error: 'not found' });
    };
    handle().catch((error: unknown) => {
      if (error instanceof PayloadTooLargeError && !res.headersSent) {
        const extensions = { code: ErrorCode.PAYLOAD_TOO_LARGE, max: error.maxBytes };
        return sendJson(res, 413, { errors: [{ message: error.message, extensions }] });
      }
      if (error instanceof RequestAbortedError) {
        services.logger.debug({ path: url.pathname }, error.message);
        return;
      }
      services.logger.error({ err: loggable(error), path: url.pathname }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.end();
    });
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port, options.host, () => resolve());
  });
  const { port } = httpServer.address() as AddressInfo;
  const shownHost = options.host && options.host !== '0.0.0.0' && options.host !== '::' ? options.host : 'localhost';

  let stopping: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${port}${GRAPHQL_PATH}`,
    wsUrl: `ws://${shownHost}:${port}${GRAPHQL_PATH}`,
    port,
    httpServer,
    sockets: webSockets.sockets,
    webSockets,
    closeSockets: (match, code, reason) => {
      let closed = 0;
      for (const info of webSockets.sockets) {
        if (match(info.viewer)) {
          info.socket.close(code, reason);
          closed++;
        }
      }
      return closed;
    },
    stop: () => {
      // Runs once; its first steps (refusing requests, closing sockets) happen before it returns.
      stopping ??= (async () => {
        const [, cut] = await Promise.all([webSockets.dispose(), drain.stop(services.config.shutdownTimeoutMs)]);
        await apollo.stop();
        if (cut > 0) throw new Error(`${cut} request(s) still running after SHUTDOWN_TIMEOUT_MS were cut off`);
      })();
      return stopping;
    },
  };
}

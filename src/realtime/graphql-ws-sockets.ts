import { CloseCode, handleProtocols, type Server } from 'graphql-ws';
import type { IncomingMessage } from 'node:http';
import type { WebSocket, WebSocketServer } from 'ws';
import { withPayload } from './serialized-payloads.js';

/** What graphql-ws keeps of each socket: the socket and the client's address, not the upgrade request. */
export interface SocketExtra {
  readonly socket: WebSocket;
  /** The client's address, TRUST_PROXY applied to the upgrade request. */
  readonly clientAddress: string | null;
}

export interface GraphqlWsSocketsOptions {
  /** A socket that has not answered the last ping within this long is dropped; 0 = no pings. */
  readonly keepAliveMs: number;
  /** The client's address of an upgrade request. */
  readonly clientAddress: (request: IncomingMessage) => string | null;
  /** A failure inside graphql-ws's message handling (the socket is closed with 4500, graphql-ws's internal error). */
  readonly onInternalError: (error: unknown) => void;
}

/**
 * graphql-ws's server on the sockets of a `ws` server. Written for idle subscribers, which a
 * dashboard server holds by the thousand: nothing per socket outlives its use (the upgrade
 * request and each message's buffer are let go), and one interval pings every socket.
 */
export function serveGraphqlWs(
  wsServer: WebSocketServer,
  /** Its per-socket context may add optional fields to SocketExtra. */
  server: Server<SocketExtra>,
  options: GraphqlWsSocketsOptions,
): { stop(): void } {
  wsServer.options.handleProtocols = handleProtocols;
  // Sockets pinged and not yet answered: one still here at the next beat is dead.
  const awaitingPong = new Set<WebSocket>();
  const heartbeat =
    options.keepAliveMs > 0
      ? setInterval(() => {
          for (const socket of wsServer.clients) {
            if (socket.readyState !== socket.OPEN) continue;
            if (awaitingPong.has(socket)) {
              socket.terminate();
              continue;
            }
            awaitingPong.add(socket);
            socket.ping();
          }
        }, options.keepAliveMs).unref()
      : null;

  wsServer.on('connection', (socket, request) => {
    socket.on('pong', () => awaitingPong.delete(socket));
    const internal = (error: unknown): void => {
      options.onInternalError(error);
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    };
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) => {
          // Taken at once, also from a socket that has closed meanwhile.
          const message = withPayload(data);
          return new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(message, { binary: false }, (error) => (error ? reject(error) : resolve()));
          });
        },
        close: (code, reason) => socket.close(code, reason),
        // Not an async handler: its frame (and the message's buffer) would stay alive for as
        // long as graphql-ws's handling of the message runs, a subscription's whole life.
        onMessage: (handle) =>
          socket.on('message', (data) => {
            // Closing (its session ended, the server is stopping): nothing more runs for this peer.
            // ws keeps reading until the peer answers the close, or for 30 s if it never does.
            if (socket.readyState !== socket.OPEN) return;
            // A Buffer: sockets keep ws's default binaryType ('nodebuffer').
            handle((data as Buffer).toString()).catch(internal);
          }),
      },
      { socket, clientAddress: options.clientAddress(request) },
    );
    socket.once('close', (code, reason) => {
      awaitingPong.delete(socket);
      closed(code, reason.toString()).catch(options.onInternalError);
    });
  });

  return {
    stop: () => {
      if (heartbeat) clearInterval(heartbeat);
    },
  };
}

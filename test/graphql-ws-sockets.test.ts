import { buildSchema } from 'graphql';
import { CloseCode, GRAPHQL_TRANSPORT_WS_PROTOCOL, makeServer, type ServerOptions } from 'graphql-ws';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { serveGraphqlWs, type SocketExtra } from '../src/realtime/graphql-ws-sockets.js';
import { eventually } from './helpers/eventually.js';

const schema = buildSchema('type Query { ok: Boolean }');

let http: Server;
let stop: () => void = () => undefined;
afterEach(async () => {
  stop();
  await new Promise((resolve) => http.close(resolve));
});

async function listen(
  options: Partial<ServerOptions<Record<string, unknown>, SocketExtra>>,
  keepAliveMs: number,
  internalErrors: unknown[] = [],
): Promise<string> {
  http = createServer();
  const wsServer = new WebSocketServer({ server: http });
  const sockets = serveGraphqlWs(wsServer, makeServer<Record<string, unknown>, SocketExtra>({ schema, ...options }), {
    keepAliveMs,
    clientAddress: (request) => request.socket.remoteAddress ?? null,
    onInternalError: (error) => internalErrors.push(error),
  });
  stop = () => {
    sockets.stop();
    for (const socket of wsServer.clients) socket.terminate();
  };
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
}

async function open(url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const socket = new WebSocket(url, GRAPHQL_TRANSPORT_WS_PROTOCOL, options);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  return socket;
}

const closed = (socket: WebSocket): Promise<{ code: number; reason: string }> =>
  new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));

describe('graphql-ws on ws sockets', () => {
  it('drops a socket that leaves a ping unanswered by the next beat; one that answers stays', async () => {
    // A beat long enough for the answering socket to pong on a loaded machine; no connection_init
    // deadline, which would close both sockets first.
    const url = await listen({ connectionInitWaitTimeout: 0 }, 2000);
    const silent = await open(url, { autoPong: false });
    const answering = await open(url);
    let pings = 0;
    answering.on('ping', () => pings++);
    const silentClosed = closed(silent);
    let answeringClosed = false;
    answering.once('close', () => (answeringClosed = true));

    // terminate() ends the connection without a closing handshake: 1006 on the client.
    expect((await silentClosed).code).toBe(1006);
    // Positive control: the same beats pinged the answering socket, which is still open.
    expect(pings).toBeGreaterThanOrEqual(1);
    expect(answeringClosed).toBe(false);
    expect(answering.readyState).toBe(WebSocket.OPEN);
    answering.close();
  });

  it("keeps the client's address, not the upgrade request, on each socket's context", async () => {
    const extras: SocketExtra[] = [];
    const url = await listen(
      {
        onConnect: (ctx) => {
          extras.push(ctx.extra);
          return true;
        },
      },
      0,
    );
    const socket = await open(url);
    socket.send(JSON.stringify({ type: 'connection_init' }));
    await new Promise((resolve) => socket.once('message', resolve));
    expect(extras).toHaveLength(1);
    expect(Object.keys(extras[0]).sort()).toEqual(['clientAddress', 'socket']);
    expect(extras[0].clientAddress).toBe('127.0.0.1');
    socket.close();
  });

  it('closes a socket whose message handling fails with 4500 and a generic reason, and reports the failure', async () => {
    const internalErrors: unknown[] = [];
    const failure = new Error('secret detail');
    const url = await listen(
      {
        onConnect: () => {
          throw failure;
        },
      },
      0,
      internalErrors,
    );
    const socket = await open(url);
    const ended = closed(socket);
    socket.send(JSON.stringify({ type: 'connection_init' }));
    expect(await ended).toEqual({ code: CloseCode.InternalServerError, reason: 'Internal server error' });
    await eventually(() => internalErrors.length === 1, 5000, 'failure reported');
    expect(internalErrors).toEqual([failure]);
  });
});

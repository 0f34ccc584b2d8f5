import WebSocket from 'ws';
import { now } from './lib/stats.js';

/**
 * A separate process holding many WebSocket clients (so the server under test does not share
 * its CPU with them). Driven over IPC by the benchmark:
 *   mode "graphql": N clients of the graphql-transport-ws protocol subscribing to one query
 *   mode "ws":      N bare ws clients of the baseline broadcaster
 * It records, per event key, how many clients received it and when the last one did.
 */
type Start = {
  kind: 'start';
  mode: 'graphql' | 'ws';
  url: string;
  token: string;
  count: number;
  query?: string;
  variablesList?: Array<Record<string, unknown>>;
};
type Msg = Start | { kind: 'report' } | { kind: 'stop' };

const received = new Map<string, { count: number; first: number; last: number; bytes: number }>();
const arrivals: number[][] = [];
let sockets: WebSocket[] = [];

/**
 * Records an arrival and answers its time. `bytes` is asked for only with an event's first
 * arrival, so both modes do the same work per message.
 */
function record(key: string, bytes: () => number): number {
  const at = now();
  let entry = received.get(key);
  if (!entry) received.set(key, (entry = { count: 0, first: at, last: 0, bytes: bytes() }));
  entry.count++;
  entry.last = at;
  return at;
}

async function start(msg: Start): Promise<void> {
  if (msg.mode === 'ws') {
    await Promise.all(
      Array.from({ length: msg.count }, () => {
        const socket = new WebSocket(msg.url);
        sockets.push(socket);
        socket.on('message', (data: Buffer) => {
          record((JSON.parse(data.toString()) as { key: string }).key, () => data.length);
        });
        return new Promise<void>((resolve, reject) => {
          socket.once('open', () => resolve());
          socket.once('error', reject);
        });
      }),
    );
    return;
  }
  for (let i = 0; i < msg.count; i++) {
    const times: number[] = [];
    arrivals.push(times);
    sockets.push(subscribeOverProtocol(msg, msg.variablesList?.[i] ?? {}, times));
    // Pace the handshakes a little: thousands at once only measure the accept queue.
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20));
  }
}

type ServerMessage =
  | { type: 'connection_ack' | 'complete' | 'pong' }
  | { type: 'ping' }
  | { type: 'next'; payload: { data?: Record<string, { dialog?: { id: string }; serverTime?: string } | null> } }
  | { type: 'error'; payload: unknown };

/**
 * One subscriber speaking graphql-transport-ws itself: per event it parses the message and
 * records it, the same work as a bare client. graphql-ws's own client would add its protocol
 * machinery per message, and with thousands of subscribers in this one process that work, not
 * the server's, would set the last subscriber's time.
 */
function subscribeOverProtocol(msg: Start, variables: Record<string, unknown>, times: number[]): WebSocket {
  const socket = new WebSocket(msg.url, 'graphql-transport-ws');
  const fail = (error: string): void => console.error(`subscriber: ${error}`);
  socket.on('open', () =>
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${msg.token}` } })),
  );
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as ServerMessage;
    if (message.type === 'next') {
      const value = message.payload.data ? Object.values(message.payload.data)[0] : undefined;
      times.push(record(value?.dialog?.id ?? value?.serverTime ?? 'other', () => data.length));
    } else if (message.type === 'connection_ack') {
      socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: msg.query, variables } }));
    } else if (message.type === 'ping') {
      socket.send(JSON.stringify({ type: 'pong' }));
    } else if (message.type === 'error') {
      fail(JSON.stringify(message.payload));
    }
  });
  socket.on('close', (code, reason) => {
    if (code !== 1000 && code !== 1005) fail(`socket closed: ${code} ${reason.toString()}`);
  });
  socket.on('error', (error) => fail(error.message));
  return socket;
}

process.on('message', (raw: Msg) => {
  void (async () => {
    if (raw.kind === 'start') {
      await start(raw);
      process.send?.({ kind: 'started' });
    } else if (raw.kind === 'report') {
      process.send?.({ kind: 'report', received: Object.fromEntries(received), arrivals });
    } else if (raw.kind === 'stop') {
      for (const s of sockets) s.close();
      sockets = [];
      process.send?.({ kind: 'stopped' });
      setTimeout(() => process.exit(0), 50);
    }
  })();
});

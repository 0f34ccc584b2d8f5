import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/**
 * A separate process holding many WebSocket clients (so the server under test does not share
 * its CPU with them). Driven over IPC by the benchmark:
 *   mode "graphql": N graphql-ws clients subscribing to one query
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

const now = (): number => performance.timeOrigin + performance.now();
const received = new Map<string, { count: number; first: number; last: number; bytes: number }>();
const arrivals: number[][] = [];
let clients: Client[] = [];
let sockets: WebSocket[] = [];

/** `bytes` is asked for only with an event's first arrival, so both modes do the same work per message. */
function record(key: string, bytes: () => number): void {
  const at = now();
  let entry = received.get(key);
  if (!entry) received.set(key, (entry = { count: 0, first: at, last: 0, bytes: bytes() }));
  entry.count++;
  entry.last = at;
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
    const client = createClient({
      url: msg.url,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      keepAlive: 0,
      connectionParams: { authorization: `Bearer ${msg.token}` },
    });
    clients.push(client);
    const times: number[] = [];
    arrivals.push(times);
    client.subscribe(
      { query: msg.query!, variables: msg.variablesList?.[i] ?? {} },
      {
        next: (result) => {
          const data = result.data as Record<string, { dialog?: { id: string }; serverTime?: string }> | undefined;
          const value = data ? Object.values(data)[0] : undefined;
          times.push(now());
          record(value?.dialog?.id ?? value?.serverTime ?? 'other', () => JSON.stringify(result).length);
        },
        error: (error) =>
          process.send?.({ kind: 'error', error: String(error instanceof Error ? error.message : JSON.stringify(error)) }),
        complete: () => {},
      },
    );
    // Pace the handshakes a little: thousands at once only measure the accept queue.
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20));
  }
}

process.on('message', (raw: Msg) => {
  void (async () => {
    if (raw.kind === 'start') {
      await start(raw);
      process.send?.({ kind: 'started' });
    } else if (raw.kind === 'report') {
      process.send?.({ kind: 'report', received: Object.fromEntries(received), arrivals });
    } else if (raw.kind === 'stop') {
      await Promise.all(clients.map(async (c) => c.dispose()));
      for (const s of sockets) s.close();
      clients = [];
      sockets = [];
      process.send?.({ kind: 'stopped' });
      setTimeout(() => process.exit(0), 50);
    }
  })();
});

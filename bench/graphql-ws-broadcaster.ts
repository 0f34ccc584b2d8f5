import { buildSchema, type ExecutionResult } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';

/**
 * The fan-out's second baseline: graphql-ws as it ships (its own `ws` glue), broadcasting what its
 * parent tells it to. Every event is one result object shared by all subscribers, built before the
 * broadcast, so nothing runs per subscriber but graphql-ws's protocol path and the socket's
 * write: the least any server speaking graphql-transport-ws with this library spends on a fan-out.
 */
const schema = buildSchema(`
  type Query { ok: Boolean }
  type Dialog { id: ID! }
  type QueueEvent { dialog: Dialog! pad: String! }
  type Subscription { queueChanged(groupId: ID): QueueEvent! }
`);

/** One subscriber's stream: results wait in `queue` until graphql-ws asks for them. */
class Stream implements AsyncIterableIterator<ExecutionResult> {
  private readonly queue: ExecutionResult[] = [];
  private waiting: ((step: IteratorResult<ExecutionResult>) => void) | null = null;

  constructor(private readonly streams: Set<Stream>) {
    streams.add(this);
  }

  push(result: ExecutionResult): void {
    const waiting = this.waiting;
    if (!waiting) {
      this.queue.push(result);
      return;
    }
    this.waiting = null;
    waiting({ value: result, done: false });
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve({ value: queued, done: false });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<ExecutionResult>> {
    this.streams.delete(this);
    this.waiting?.({ value: undefined, done: true });
    this.waiting = null;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

const streams = new Set<Stream>();
const wsServer = new WebSocketServer({ port: 0, host: '127.0.0.1', path: '/graphql' });
useServer({ schema, subscribe: () => new Stream(streams) }, wsServer);

wsServer.on('listening', () => {
  const address = wsServer.address();
  process.send?.({ kind: 'listening', port: address && typeof address === 'object' ? address.port : 0 });
});
process.on('message', (msg: { kind: 'broadcast'; key: string; pad: string } | { kind: 'stop' }) => {
  if (msg.kind === 'broadcast') {
    const result: ExecutionResult = { data: { queueChanged: { dialog: { id: msg.key }, pad: msg.pad } } };
    for (const stream of streams) stream.push(result);
  } else {
    wsServer.close();
    for (const client of wsServer.clients) client.terminate();
    setTimeout(() => process.exit(0), 50);
  }
});

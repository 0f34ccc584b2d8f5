import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { GraphqlData, GraphqlError } from './gql.js';

/** A graphql-ws client as a dashboard would use it. */
export function wsClient(
  url: string,
  token?: string,
  options: { lazy?: boolean; retryAttempts?: number; retryWait?: (retries: number) => Promise<void> } = {},
): Client {
  return createClient({
    url,
    webSocketImpl: WebSocket,
    lazy: options.lazy ?? true,
    retryAttempts: options.retryAttempts ?? 0,
    retryWait: options.retryWait,
    // Tests assert on close codes themselves.
    onNonLazyError: () => {},
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
  });
}

export interface Subscription<T> {
  /** Resolves with the next event (rejects after `timeoutMs`). */
  next(timeoutMs?: number): Promise<T>;
  /** Events received so far and not yet taken. */
  readonly buffered: T[];
  readonly errors: unknown[];
  dispose(): void;
}

/** Subscribes and buffers events; `next()` waits for one. */
export function subscribe<T = GraphqlData>(
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
  operationName?: string,
): Subscription<T> {
  const buffered: T[] = [];
  const errors: unknown[] = [];
  const waiters: Array<{ resolve: (value: T) => void; reject: (error: unknown) => void }> = [];
  const fail = (error: unknown): void => {
    errors.push(error);
    for (const waiter of waiters.splice(0)) waiter.reject(new Error(`subscription failed: ${JSON.stringify(error)}`));
  };
  const dispose = client.subscribe<T>(
    { query, variables, operationName },
    {
      next: (result) => {
        if (result.errors) for (const error of result.errors) fail(error);
        if (result.data) {
          const waiter = waiters.shift();
          if (waiter) waiter.resolve(result.data);
          else buffered.push(result.data);
        }
      },
      error: (error) => fail(error instanceof Error ? error.message : error),
      complete: () => {},
    },
  );
  return {
    buffered,
    errors,
    dispose,
    next: (timeoutMs = 5000) => {
      const ready = buffered.shift();
      if (ready !== undefined) return Promise.resolve(ready);
      if (errors.length) return Promise.reject(new Error(`subscription failed: ${JSON.stringify(errors)}`));
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          const i = waiters.indexOf(waiter);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`no event within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = {
          resolve: (value: T): void => {
            clearTimeout(timer);
            resolve(value);
          },
          reject: (error: unknown): void => {
            clearTimeout(timer);
            // graphql-ws ends a stream with a close event or a list of GraphQL errors; tests assert on them as they are.
            // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
            reject(error);
          },
        };
        waiters.push(waiter);
      });
    },
  };
}

/** Waits until `client` has acknowledged the connection. */
export function connected(client: Client, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('not connected')), timeoutMs);
    const off = client.on('connected', () => {
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

/** A graphql-transport-ws message from the server. */
export type ProtocolMessage =
  | { readonly type: 'next'; readonly id: string; readonly payload: { data?: GraphqlData | null; errors?: GraphqlError[] } }
  | { readonly type: 'error'; readonly id: string; readonly payload: GraphqlError[] }
  | { readonly type: 'complete'; readonly id: string }
  | { readonly type: 'connection_ack' | 'ping' | 'pong'; readonly id?: undefined; readonly payload?: unknown };

/**
 * A bare `graphql-transport-ws` socket, for tests that need exact control over frames and
 * operation ids (what a misbehaving client sends) rather than what graphql-ws's client allows.
 */
export class ProtocolSocket {
  private readonly received: ProtocolMessage[] = [];
  private readonly waiters = new Set<() => void>();
  /** Resolves with the close code and reason, from whichever side closed. */
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      // A Buffer: binaryType is left at its default.
      this.received.push(JSON.parse((data as Buffer).toString('utf8')) as ProtocolMessage);
      for (const wake of this.waiters) wake();
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        resolve({ code, reason: String(reason) });
        for (const wake of this.waiters) wake();
      });
    });
    // Errors end in a close event too; the tests assert on that.
    socket.on('error', () => {});
  }

  /** Opens a socket with the graphql-ws subprotocol. */
  static open(url: string): Promise<ProtocolSocket> {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new ProtocolSocket(socket)));
      socket.once('error', reject);
    });
  }

  /** Opens a socket and authenticates it with `token` (waits for the acknowledgement). */
  static async connect(url: string, token: string): Promise<ProtocolSocket> {
    const s = await ProtocolSocket.open(url);
    s.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
    await s.next((m) => m.type === 'connection_ack');
    return s;
  }

  send(message: Readonly<Record<string, unknown>> | string): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  subscribe(id: string, query: string, variables: Record<string, unknown> = {}, operationName?: string): void {
    this.send({ type: 'subscribe', id, payload: { query, variables, operationName } });
  }

  complete(id: string): void {
    this.send({ type: 'complete', id });
  }

  /** Takes the first message received (or yet to come) that matches; rejects on close or timeout. */
  async next(match: (message: ProtocolMessage) => boolean = () => true, timeoutMs = 5000): Promise<ProtocolMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.received.findIndex(match);
      if (i >= 0) return this.received.splice(i, 1)[0];
      if (this.socket.readyState === WebSocket.CLOSED) throw new Error(`socket closed: ${JSON.stringify(await this.closed)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  /** The next message for operation `id`. */
  nextFor(id: string, timeoutMs?: number): Promise<ProtocolMessage> {
    return this.next((m) => m.id === id, timeoutMs);
  }

  close(): void {
    this.socket.close();
  }
}

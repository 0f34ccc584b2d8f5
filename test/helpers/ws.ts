import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** A graphql-ws client as a dashboard would use it. */
export function wsClient(url: string, token?: string, options: { lazy?: boolean; retryAttempts?: number } = {}): Client {
  return createClient({
    url,
    webSocketImpl: WebSocket,
    lazy: options.lazy ?? true,
    retryAttempts: options.retryAttempts ?? 0,
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
export function subscribe<T = Record<string, any>>(
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
): Subscription<T> {
  const buffered: T[] = [];
  const errors: unknown[] = [];
  const waiters: Array<(value: T) => void> = [];
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors) errors.push(...result.errors);
        if (result.data) {
          const waiter = waiters.shift();
          if (waiter) waiter(result.data as T);
          else buffered.push(result.data as T);
        }
      },
      error: (error) => errors.push(error),
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
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          const i = waiters.indexOf(waiter);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`no event within ${timeoutMs} ms; errors: ${JSON.stringify(errors)}`));
        }, timeoutMs);
        const waiter = (value: T): void => {
          clearTimeout(timer);
          resolve(value);
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

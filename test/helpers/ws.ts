import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** A graphql-ws client as a dashboard would use it. */
export function wsClient(url: string, token?: string, options: { lazy?: boolean; retryAttempts?: number } = {}): Client {
  return createClient({
    url,
    webSocketImpl: WebSocket,
    lazy: options.lazy ?? true,
    retryAttempts: options.retryAttempts ?? 0,
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
export function subscribe<T = Record<string, any>>(
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
): Subscription<T> {
  const buffered: T[] = [];
  const errors: unknown[] = [];
  const waiters: Array<{ resolve: (value: T) => void; reject: (error: unknown) => void }> = [];
  const fail = (error: unknown): void => {
    errors.push(error);
    for (const waiter of waiters.splice(0)) waiter.reject(new Error(`subscription failed: ${JSON.stringify(error)}`));
  };
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors) for (const error of result.errors) fail(error);
        if (result.data) {
          const waiter = waiters.shift();
          if (waiter) waiter.resolve(result.data as T);
          else buffered.push(result.data as T);
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

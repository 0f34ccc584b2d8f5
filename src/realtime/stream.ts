import type { Delivery, EventBus } from './event-bus.js';

/** Deliveries buffered for a slow client before the oldest are dropped (sequences show the gap). */
const MAX_BUFFERED = 10_000;

/**
 * An AsyncIterator over the deliveries of `topics`, each turned into a payload by `map`
 * (null = not for this subscriber). Maps run one at a time, in delivery order. Returning
 * (client unsubscribed or disconnected) removes the handlers at once.
 */
export function stream<T>(
  bus: EventBus,
  topics: readonly string[],
  map: (delivery: Delivery) => Promise<T | null>,
): AsyncIterableIterator<T> {
  const queue: Delivery[] = [];
  let wake: (() => void) | null = null;
  let done = false;
  const unsubscribers = topics.map((topic) =>
    bus.subscribe(topic, (delivery) => {
      if (queue.length >= MAX_BUFFERED) queue.shift();
      queue.push(delivery);
      wake?.();
    }),
  );
  const finish = (): IteratorResult<T> => {
    if (!done) {
      done = true;
      for (const unsubscribe of unsubscribers) unsubscribe();
      queue.length = 0;
      wake?.();
    }
    return { done: true, value: undefined };
  };

  const iterator: AsyncIterableIterator<T> = {
    async next(): Promise<IteratorResult<T>> {
      while (!done) {
        const delivery = queue.shift();
        if (!delivery) {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
          continue;
        }
        const value = await map(delivery);
        if (value !== null) return { done: false, value };
      }
      return { done: true, value: undefined };
    },
    async return(): Promise<IteratorResult<T>> {
      return finish();
    },
    async throw(error?: unknown): Promise<IteratorResult<T>> {
      finish();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

import { BadInputError, EventsExpiredError } from '../shared/errors.js';
import { EventScope, type Delivery, type EventBus } from './event-bus.js';
import type { FeedFilter, LogEntry } from './event-log.js';

/** Deliveries buffered for a slow client before the oldest are dropped (sequences show the gap). */
export const MAX_BUFFERED = 10_000;
/** Log entries read per round trip when replaying. */
const REPLAY_PAGE = 500;

/** stream()'s source for the whole log: each delivery's sequence is its position. */
export const WHOLE_LOG = 'log';

function logDelivery(entry: LogEntry, scope: EventScope): Delivery {
  return { topic: WHOLE_LOG, sequence: entry.position, position: entry.position, event: entry.event, entry, scope };
}

/** Replays the public feed after `after` (matching `filter`), then lets later live entries through. */
export function resumeLog(bus: EventBus, after: number, filter: FeedFilter): Resume {
  return {
    async *missed(upTo) {
      let from = after;
      for (;;) {
        const em = bus.fork();
        const entries = await bus.log.readFeed(em, from, upTo, filter, REPLAY_PAGE);
        for (const entry of entries) {
          from = entry.position;
          yield logDelivery(entry, new EventScope(bus));
        }
        if (entries.length < REPLAY_PAGE) return;
      }
    },
    isNew: (delivery) => delivery.position > after,
  };
}

/** Where a resumed stream starts: what it missed is read from the log, then it goes live. */
export interface Resume {
  /** The deliveries after the resume point with positions up to `upTo`, oldest first; none when absent. */
  readonly missed?: (upTo: number) => AsyncIterable<Delivery>;
  /** Whether a live delivery is after the resume point (another instance may be ahead of this one). */
  isNew(delivery: Delivery): boolean;
}

export interface StreamOptions<T> {
  readonly resume?: Resume;
  /** Ends the stream after yielding a value for which this holds (e.g. a dialog's CLOSED event). */
  readonly lastValue?: (value: T) => boolean;
}

/** Replays one topic after sequence `afterSeq` (from the log), then lets live deliveries through. */
export function resumeTopic(bus: EventBus, topic: string, afterSeq: number): Resume {
  return {
    async *missed(upTo) {
      let after = afterSeq;
      for (;;) {
        const em = bus.fork();
        const entries = await bus.log.readTopic(em, topic, after, upTo, REPLAY_PAGE);
        for (const entry of entries) {
          const sequence = entry.topics[topic] ?? 0;
          after = sequence;
          // A scope per event, as live: what it memoizes belongs to one event.
          yield { topic, sequence, position: entry.position, event: entry.event, entry, scope: new EventScope(bus) };
        }
        if (entries.length < REPLAY_PAGE) return;
      }
    },
    isNew: (delivery) => delivery.sequence > afterSeq,
  };
}

/**
 * A stream from now on: nothing is replayed, and an event whose transaction had committed before
 * this call is skipped even when it reaches this process later (events are numbered just after
 * their commit), so a subscriber does not receive changes older than its subscription.
 */
export async function fromNow(bus: EventBus): Promise<Resume> {
  const snapshot = await bus.log.snapshot(bus.fork());
  return { isNew: (delivery) => !snapshot.sees(delivery.entry.tx) };
}

/**
 * Checks a subscriber's `after` (a sequence of `topic`) and returns where to resume from; without
 * one, from now on.
 */
export async function topicResume(bus: EventBus, topic: string, after: number | null | undefined): Promise<Resume> {
  if (after == null) return fromNow(bus);
  if (!Number.isSafeInteger(after) || after < 0) throw new BadInputError('after', 'after must be a sequence number (0 or more)');
  const state = await bus.log.checkTopicResume(bus.fork(), topic, after);
  if (state === 'expired') throw new EventsExpiredError('after');
  if (state === 'ahead') throw new BadInputError('after', 'after is past the latest event of this stream');
  return resumeTopic(bus, topic, after);
}

/**
 * An AsyncIterator over the deliveries of `topics`, each turned into a payload by `map`
 * (null = not for this subscriber). Maps run one at a time, in delivery order. With `resume`,
 * the missed deliveries come first: live ones are buffered from the call on, and only those
 * after the last position this process had delivered at that moment follow the replay, so
 * nothing is skipped or repeated. Returning (client unsubscribed or disconnected) removes the
 * handlers at once.
 */
export function stream<T>(
  bus: EventBus,
  source: readonly string[] | typeof WHOLE_LOG,
  map: (delivery: Delivery) => Promise<T | null>,
  options: StreamOptions<T> = {},
): AsyncIterableIterator<T> {
  return new DeliveryStream(bus, source, map, options);
}

const ENDED: IteratorResult<never> = { done: true, value: undefined };

/**
 * stream()'s iterator. A class, not closures, and an idle one waits in a plain promise whose
 * resolver a delivery calls, not in a suspended async call: a server holds thousands of idle
 * subscribers, and each keeps only its fields.
 */
class DeliveryStream<T> implements AsyncIterableIterator<T> {
  private readonly queue: Delivery[] = [];
  private readonly unsubscribers: ReadonlyArray<() => void>;
  /** Let go once read to its end: an idle subscriber keeps no spent generator. */
  private replay: AsyncIterator<Delivery> | undefined;
  private waiting: ((next: Promise<IteratorResult<T>>) => void) | null = null;
  private done = false;
  /** The last value was returned: the next call ends the stream. */
  private ending = false;

  constructor(
    bus: EventBus,
    source: readonly string[] | typeof WHOLE_LOG,
    private readonly map: (delivery: Delivery) => Promise<T | null>,
    private readonly options: StreamOptions<T>,
  ) {
    const push = (delivery: Delivery): void => this.push(delivery);
    this.unsubscribers =
      source === WHOLE_LOG
        ? [bus.subscribeAll((entry, scope) => push(logDelivery(entry, scope)))]
        : source.map((topic) => bus.subscribe(topic, push));
    // Everything up to here is the replay's; every live delivery is above it.
    this.replay = options.resume?.missed?.(bus.position())[Symbol.asyncIterator]();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.ending) return Promise.resolve(this.finish());
    // Idle: the promise a delivery resolves, not one of produce()'s that would wait on it.
    return this.idle() ? this.untilDelivery() : this.produce();
  }

  async return(): Promise<IteratorResult<T>> {
    return this.finish();
  }

  async throw(error?: unknown): Promise<IteratorResult<T>> {
    this.finish();
    throw error;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private push(delivery: Delivery): void {
    if (this.options.resume && !this.options.resume.isNew(delivery)) return;
    const waiting = this.waiting;
    if (waiting) {
      // Idle (so nothing is queued): mapped at once, without the queue, as one event reaches
      // thousands of subscribers.
      this.waiting = null;
      waiting(this.mapped(delivery));
      return;
    }
    if (this.queue.length >= MAX_BUFFERED) this.queue.shift();
    this.queue.push(delivery);
  }

  /** `delivery`'s value; one mapped to null is skipped for the next. */
  private mapped(delivery: Delivery): Promise<IteratorResult<T>> {
    let value: Promise<T | null>;
    try {
      value = this.map(delivery);
    } catch (error) {
      // A map that throws before returning its promise fails this stream, as a rejection does.
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return value.then((mapped) => (mapped === null ? this.produce() : this.yielded(mapped)));
  }

  private yielded(value: T): IteratorResult<T> {
    this.ending = this.options.lastValue?.(value) ?? false;
    return { done: false, value };
  }

  private idle(): boolean {
    return !this.done && this.replay === undefined && this.queue.length === 0;
  }

  private untilDelivery(): Promise<IteratorResult<T>> {
    // Gives back the room a burst of deliveries grew.
    this.queue.length = 0;
    return new Promise((resolve) => (this.waiting = resolve));
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.(this.produce());
  }

  private finish(): IteratorResult<T> {
    if (!this.done) {
      this.done = true;
      for (const unsubscribe of this.unsubscribers) unsubscribe();
      this.queue.length = 0;
      void this.replay?.return?.();
      this.replay = undefined;
      this.wake();
    }
    return ENDED;
  }

  private async produce(): Promise<IteratorResult<T>> {
    while (!this.done) {
      let delivery: Delivery | undefined;
      if (this.replay) {
        const step = await this.replay.next();
        if (step.done) {
          this.replay = undefined;
          continue;
        }
        delivery = step.value;
      } else {
        delivery = this.queue.shift();
        if (!delivery) return this.untilDelivery();
      }
      if (this.done) break;
      const value = await this.map(delivery);
      if (value !== null) return this.yielded(value);
    }
    return ENDED;
  }
}

/** A stream that has already ended. */
export function emptyStream<T>(): AsyncIterableIterator<T> {
  const iterator: AsyncIterableIterator<T> = {
    next: async () => ({ done: true, value: undefined }),
    return: async () => ({ done: true, value: undefined }),
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

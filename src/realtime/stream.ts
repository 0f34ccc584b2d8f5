import { BadInputError, EventsExpiredError } from '../shared/errors.js';
import { EventScope, type Delivery, type EventBus } from './event-bus.js';
import type { FeedFilter, LogEntry } from './event-log.js';

/** Deliveries buffered for a slow client before the oldest are dropped (sequences show the gap). */
const MAX_BUFFERED = 10_000;
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
          yield logDelivery(entry, new EventScope(bus.fork()));
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
          yield { topic, sequence, position: entry.position, event: entry.event, entry, scope: new EventScope(bus.fork()) };
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
  const { resume, lastValue } = options;
  const queue: Delivery[] = [];
  let wake: (() => void) | null = null;
  let done = false;
  // The last value was returned: the next call ends the stream.
  let ending = false;
  const push = (delivery: Delivery): void => {
    if (resume && !resume.isNew(delivery)) return;
    if (queue.length >= MAX_BUFFERED) queue.shift();
    queue.push(delivery);
    wake?.();
  };
  const unsubscribers =
    source === WHOLE_LOG
      ? [bus.subscribeAll((entry, scope) => push(logDelivery(entry, scope)))]
      : source.map((topic) => bus.subscribe(topic, push));
  // Everything up to here is the replay's; every live delivery is above it. Let go once read to
  // its end: an idle subscriber keeps no spent generator.
  let replay = resume?.missed?.(bus.position())[Symbol.asyncIterator]();

  const finish = (): IteratorResult<T> => {
    if (!done) {
      done = true;
      for (const unsubscribe of unsubscribers) unsubscribe();
      queue.length = 0;
      void replay?.return?.();
      replay = undefined;
      wake?.();
    }
    return { done: true, value: undefined };
  };

  /*
   * The next value. An idle stream waits in a plain promise whose `wake` runs this again, not in
   * a suspended async call: thousands of idle subscribers each keep one small promise.
   */
  const produce = async (): Promise<IteratorResult<T>> => {
    while (!done) {
      let delivery: Delivery | undefined;
      if (replay) {
        const step = await replay.next();
        if (step.done) {
          replay = undefined;
          continue;
        }
        delivery = step.value;
      } else {
        delivery = queue.shift();
        if (!delivery) return woken();
      }
      if (done) break;
      const value = await map(delivery);
      if (value === null) continue;
      ending = lastValue?.(value) ?? false;
      return { done: false, value };
    }
    return { done: true, value: undefined };
  };
  const woken = (): Promise<IteratorResult<T>> =>
    new Promise((resolve) => {
      wake = () => {
        wake = null;
        resolve(produce());
      };
    });

  const iterator: AsyncIterableIterator<T> = {
    next: () => (ending ? Promise.resolve(finish()) : produce()),
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

/** A stream that has already ended. */
export function emptyStream<T>(): AsyncIterableIterator<T> {
  const iterator: AsyncIterableIterator<T> = {
    next: async () => ({ done: true, value: undefined }),
    return: async () => ({ done: true, value: undefined }),
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

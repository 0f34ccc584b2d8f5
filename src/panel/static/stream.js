// @ts-check
/**
 * The live side of the panel: one graphql-ws connection, the streams followed over it, and how
 * they resume after the connection drops. Nothing else in the panel knows about sockets.
 *
 * Resuming today: graphql-ws reconnects and subscribes again by itself, but what was committed
 * while the socket was down is not sent. So every stream refetches its view (`resync`) after a
 * reconnect, and whenever an event's `sequence` skips a number. The latter also catches what the
 * former can miss: an event committed after the refetch read but before the server had the
 * subscription running again shows as a gap at that stream's next event. Views apply events
 * idempotently (by id), so an event the refetch already showed does no harm.
 *
 * Once the API takes `after` on these subscriptions, `follow` subscribes again with
 * `after: lastSequence` instead of calling `resync` (the server replays the gap), and `resync`
 * is left for the error that says the gap is older than the server keeps.
 */
import { createClient } from 'graphql-ws';

/** @typedef {'connecting' | 'live' | 'reconnecting'} ConnectionState */

/**
 * @template T
 * @typedef {{ next: (event: T) => void, resync: () => void, fail?: (error: unknown) => void }} Follower
 */

/** Close code the server uses for an ended session (logout, expiry, revocation). */
const SESSION_ENDED = 4401;

/**
 * Waits before reconnect number `retries` (0-based): doubling from half a second, at most ten
 * seconds, plus jitter so that many panels do not reconnect in step after a restart.
 * @param {number} retries
 */
function backoff(retries) {
  const ms = Math.min(500 * 2 ** retries, 10_000) + Math.random() * 500;
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Opens the connection (lazily, with the first stream) for `token`.
 * @param {{ url: string, token: string, onState: (state: ConnectionState) => void, onSessionEnded: () => void }} options
 */
export function openStreams({ url, token, onState, onSessionEnded }) {
  /** @type {Set<() => void>} */
  const resyncs = new Set();
  const client = createClient({
    url,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: Infinity,
    retryWait: backoff,
    // A socket that silently died (a sleeping laptop, a dropped Wi-Fi) is noticed within this.
    keepAlive: 10_000,
    on: {
      connecting: (isRetry) => onState(isRetry ? 'reconnecting' : 'connecting'),
      connected: (_socket, _payload, wasRetry) => {
        onState('live');
        if (wasRetry) for (const resync of resyncs) resync();
      },
      closed: (event) => {
        if (event instanceof CloseEvent && event.code === SESSION_ENDED) onSessionEnded();
        else onState('reconnecting');
      },
    },
  });

  return {
    /**
     * Follows one subscription whose root field is `field`. Returns a function that stops it.
     * @template T
     * @param {string} field
     * @param {string} query
     * @param {Record<string, unknown>} variables
     * @param {Follower<T>} follower
     * @returns {() => void}
     */
    follow(field, query, variables, follower) {
      /** The last event's sequence, kept across reconnects: the first event after one shows any gap. */
      /** @type {number | null} */
      let lastSequence = null;
      const resync = () => follower.resync();
      resyncs.add(resync);
      const stop = client.subscribe(
        { query, variables },
        {
          next: (result) => {
            if (result.errors?.length) {
              follower.fail?.(result.errors[0]);
              return;
            }
            /** @type {T & { sequence?: number }} */
            const event = /** @type {Record<string, T & { sequence?: number }>} */ (result.data)[field];
            const sequence = event.sequence;
            const gap = typeof sequence === 'number' && lastSequence !== null && sequence > lastSequence + 1;
            if (typeof sequence === 'number') lastSequence = sequence;
            follower.next(event);
            if (gap) follower.resync();
          },
          error: (error) => follower.fail?.(error),
          complete: () => {},
        },
      );
      return () => {
        resyncs.delete(resync);
        stop();
      };
    },
    /** Closes the connection and every stream on it. */
    dispose() {
      resyncs.clear();
      void client.dispose();
    },
  };
}

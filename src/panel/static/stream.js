// @ts-check
/**
 * The live side of the panel: one graphql-ws connection, the streams followed over it, and how
 * they resume after the connection drops. Nothing else in the panel knows about sockets.
 *
 * Resuming: a view reads its data together with the sequence its stream stood at
 * (`QueueStats.sequence`, `Operator.dialogsSequence`), then subscribes with `after` = that
 * sequence; the server first replays what was committed since, then sends live events: no gap,
 * no duplicate. graphql-ws reconnects and subscribes again by itself; the subscription's
 * `after` is read each time it is sent, so a reconnect resumes from the last event seen and no
 * view is refetched. Only when the server no longer keeps the events after that point
 * (EVENTS_EXPIRED) does the view refetch and the stream start again from what it read.
 * Streams without `after` (slTicks sends whole batches; operatorStatusChanged) refetch their
 * view after a reconnect instead. While the database is away (SERVICE_UNAVAILABLE: nothing was
 * written), a stream and its view's read are tried again after a backoff, as a reconnect is.
 */
import { createClient } from 'graphql-ws';

/** @typedef {'connecting' | 'live' | 'reconnecting'} ConnectionState */
/** @typedef {{ message: string, extensions?: { code?: string } }} StreamError */

/** Close code the server uses for an ended session (logout, expiry, revocation). */
const SESSION_ENDED = 4401;
/** The error code of a subscription whose `after` is older than the server's event log. */
const EVENTS_EXPIRED = 'EVENTS_EXPIRED';
/** The error code of a request the database could not serve; nothing of it was written. */
const SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE';

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
 * The first error of what graphql-ws hands a sink: a result's errors, the errors of an Error
 * message, or a close event / exception.
 * @param {unknown} error
 * @returns {StreamError}
 */
function firstError(error) {
  const first = Array.isArray(error) ? error[0] : error;
  if (first && typeof first === 'object' && 'message' in first) return /** @type {StreamError} */ (first);
  return { message: String(first) };
}

/**
 * The code of a stream's error: a GraphQL error's, or an ApiError's (a view's load over HTTP).
 * @param {StreamError & { code?: string }} error
 */
function codeOf(error) {
  return error.extensions?.code ?? error.code;
}

/**
 * A stream's failures while the database is away (SERVICE_UNAVAILABLE): `again` runs after a
 * backoff, as for a reconnect; any other error goes to `fail`. `served()` resets the backoff.
 * @param {() => void} again
 * @param {(error: StreamError) => void} fail
 */
function retryingUnavailable(again, fail) {
  let retries = 0;
  return {
    /** @param {unknown} error */
    failed(error) {
      const first = firstError(error);
      if (codeOf(first) !== SERVICE_UNAVAILABLE) return fail(first);
      void backoff(retries++).then(again);
    },
    served() {
      retries = 0;
    },
  };
}

/**
 * Opens the connection (lazily, with the first stream) for `token`.
 * @param {{ url: string, token: string, onState: (state: ConnectionState) => void, onSessionEnded: () => void }} options
 */
export function openStreams({ url, token, onState, onSessionEnded }) {
  /** Refetches of the views fed by streams without `after`, run after a reconnect. */
  /** @type {Set<() => void>} */
  const refetches = new Set();
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
        if (wasRetry) for (const refetch of refetches) refetch();
      },
      closed: (event) => {
        if (event instanceof CloseEvent && event.code === SESSION_ENDED) onSessionEnded();
        else onState('reconnecting');
      },
    },
  });

  return {
    /**
     * Follows a resumable subscription (one taking `after`) whose root field is `field`: `load`
     * (re)fetches the view it feeds and returns the stream's sequence read with it; events after
     * that go to `next`, in order, across reconnects. Returns a function that stops it.
     * @template {{ sequence: number }} T
     * @param {string} field
     * @param {string} query
     * @param {Record<string, unknown>} variables
     * @param {{ load: () => Promise<number>, next: (event: T) => void, fail: (error: StreamError) => void }} follower
     * @returns {() => void}
     */
    resume(field, query, variables, { load, next, fail }) {
      let stopped = false;
      let stop = () => {};
      /** The last sequence the view reflects. */
      let after = 0;
      // graphql-ws serialises the payload each time it subscribes, on every reconnect too: the
      // getter hands it the current position.
      const payload = {
        query,
        get variables() {
          return { ...variables, after };
        },
      };
      // The database away: the view is read again and the stream followed from there.
      const unavailable = retryingUnavailable(() => {
        if (!stopped) start();
      }, fail);
      /** @param {unknown} error */
      const failed = (error) => {
        if (codeOf(firstError(error)) === EVENTS_EXPIRED) start();
        else unavailable.failed(error);
      };
      const start = () => {
        stop();
        load()
          .then((sequence) => {
            if (stopped) return;
            unavailable.served();
            after = sequence;
            stop = client.subscribe(payload, {
              next: (result) => {
                if (result.errors?.length) return failed(result.errors);
                const event = /** @type {Record<string, T>} */ (result.data)[field];
                after = event.sequence;
                next(event);
              },
              error: failed,
              // These streams end only with the session (the connection's close says so).
              complete: () => {},
            });
          })
          .catch(failed);
      };
      start();
      return () => {
        stopped = true;
        stop();
      };
    },
    /**
     * Follows a subscription without `after` whose root field is `field`; `refetch` brings its
     * view up to date after a reconnect (what happened meanwhile is not sent). Returns a
     * function that stops it.
     * @template T
     * @param {string} field
     * @param {string} query
     * @param {Record<string, unknown>} variables
     * @param {{ next: (event: T) => void, refetch?: () => void, fail: (error: StreamError) => void }} follower
     * @returns {() => void}
     */
    follow(field, query, variables, { next, refetch, fail }) {
      if (refetch) refetches.add(refetch);
      let stopped = false;
      let stop = () => {};
      // The database away: subscribed again, and the view brought up to date as after a reconnect.
      const unavailable = retryingUnavailable(() => {
        if (stopped) return;
        refetch?.();
        start();
      }, fail);
      const start = () => {
        stop();
        stop = client.subscribe(
          { query, variables },
          {
            next: (result) => {
              if (result.errors?.length) return unavailable.failed(result.errors);
              unavailable.served();
              next(/** @type {Record<string, T>} */ (result.data)[field]);
            },
            error: unavailable.failed,
            complete: () => {},
          },
        );
      };
      start();
      return () => {
        stopped = true;
        if (refetch) refetches.delete(refetch);
        stop();
      };
    },
    /** Closes the connection and every stream on it. */
    dispose() {
      refetches.clear();
      void client.dispose();
    },
  };
}

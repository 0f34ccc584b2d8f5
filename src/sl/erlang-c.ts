/**
 * The Erlang C queueing model (M/M/N): Poisson arrivals, exponential handle times, N servers,
 * one shared first-come queue. Pure functions; traffic A = λ·h in erlangs.
 *
 * Factorials and powers overflow long before realistic team sizes, so the blocking
 * probability comes from the Erlang B recursion B(n) = A·B(n−1) / (n + A·B(n−1)), B(0) = 1,
 * whose terms stay in [0, 1], and C(N, A) = N·B(N) / (N − A·(1 − B(N))).
 */

/** The figures of N servers against A erlangs. */
export interface QueueFigures {
  /** Probability that an arrival waits at all, 0..1 (1 when N ≤ A: the queue grows without end). */
  readonly probabilityOfWaiting: number;
  /** Share answered within the target time, 0..1 (0 when N ≤ A). */
  readonly serviceLevel: number;
  /** Mean wait in the units of `handleTime` (Infinity when N ≤ A). */
  readonly avgWait: number;
}

/** Erlang B blocking probability for `servers` servers (a whole number ≥ 0) and A erlangs. */
export function erlangB(servers: number, traffic: number): number {
  let b = 1;
  for (let n = 1; n <= servers; n++) b = (traffic * b) / (n + traffic * b);
  return b;
}

/** C(N, A) from B(N, A); 1 when N ≤ A. */
function waitingFromBlocking(servers: number, traffic: number, blocking: number): number {
  if (servers <= traffic) return 1;
  return (servers * blocking) / (servers - traffic * (1 - blocking));
}

/** Erlang C: the probability that an arrival waits, for `servers` servers and A erlangs. */
export function erlangC(servers: number, traffic: number): number {
  if (traffic <= 0) return 0;
  return waitingFromBlocking(servers, traffic, erlangB(servers, traffic));
}

function figuresFrom(servers: number, traffic: number, handleTime: number, targetTime: number, c: number): QueueFigures {
  if (traffic <= 0) return { probabilityOfWaiting: 0, serviceLevel: 1, avgWait: 0 };
  if (servers <= traffic) return { probabilityOfWaiting: 1, serviceLevel: 0, avgWait: Infinity };
  return {
    probabilityOfWaiting: c,
    serviceLevel: Math.max(0, 1 - c * Math.exp((-(servers - traffic) * targetTime) / handleTime)),
    avgWait: (c * handleTime) / (servers - traffic),
  };
}

/**
 * Waiting probability, service level within `targetTime` and mean wait for `servers` servers,
 * `traffic` erlangs and mean handle time `handleTime` (same unit as `targetTime`).
 * Zero traffic: nobody waits (SL 1) whatever N, even 0.
 */
export function queueFigures(servers: number, traffic: number, handleTime: number, targetTime: number): QueueFigures {
  return figuresFrom(servers, traffic, handleTime, targetTime, erlangC(servers, traffic));
}

/** The fewest whole agents (each `serversPerAgent` servers, floored) that reach `targetLevel`, with their figures. */
export interface Requirement extends QueueFigures {
  readonly agents: number;
  readonly servers: number;
}

/**
 * The fewest agents whose servers N = ⌊agents × serversPerAgent⌋ exceed A and give
 * SL ≥ targetLevel (0 < targetLevel < 1). One pass of the B recursion serves the whole search,
 * so the cost is O(N) for the answer N. Zero traffic needs no agents.
 */
export function requiredAgents(
  traffic: number,
  handleTime: number,
  targetTime: number,
  targetLevel: number,
  serversPerAgent = 1,
): Requirement {
  if (!(targetLevel > 0 && targetLevel < 1)) throw new RangeError('targetLevel must be in (0, 1)');
  if (!(serversPerAgent >= 1)) throw new RangeError('serversPerAgent must be at least 1');
  if (traffic <= 0) return { agents: 0, servers: 0, ...figuresFrom(0, 0, handleTime, targetTime, 0) };
  let b = 1;
  let n = 0;
  for (let agents = 1; ; agents++) {
    const servers = Math.floor(agents * serversPerAgent);
    for (; n < servers;) {
      n++;
      b = (traffic * b) / (n + traffic * b);
    }
    if (servers <= traffic) continue;
    const figures = figuresFrom(servers, traffic, handleTime, targetTime, waitingFromBlocking(servers, traffic, b));
    if (figures.serviceLevel >= targetLevel) return { agents, servers, ...figures };
  }
}

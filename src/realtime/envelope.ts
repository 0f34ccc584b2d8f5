import type { Loaders } from '../loaders.js';

/** What a subscription iterator yields: the event plus the loaders its fields resolve with. */
export interface Envelope<T> {
  readonly value: T;
  readonly loaders: Loaders;
  /** The event's sequence, for payload types that are entities (no field of their own to carry it). */
  readonly sequence?: number;
}

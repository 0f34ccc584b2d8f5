import type { EntityManager } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import type { Viewer } from './auth/viewer.js';
import { Loaders } from './loaders.js';
import type { Services } from './services.js';

/** Per-operation context: its own EntityManager fork, loaders and the caller. */
export interface Context {
  /** This operation's EntityManager fork (created on first use). */
  readonly em: EntityManager;
  /**
   * Request-scoped (created on first use). A subscription's context lives as long as the
   * subscription, so each event swaps in the loaders shared by everyone receiving that event.
   */
  loaders: Loaders;
  readonly viewer: Viewer | null;
  /** The peer's address (HTTP request or WebSocket); what login throttling counts per client. */
  readonly clientAddress: string | null;
  /** Names this request (or WebSocket operation) in the log and in internal errors' `extensions.requestId`. */
  readonly requestId: string;
  readonly services: Services;
  /**
   * In a subscription whose payload is an entity (operatorStatusChanged), the sequence of the
   * event being executed. Events of one subscription execute one at a time, so it is set
   * before each and read while resolving it.
   */
  eventSequence: number | null;
  /** The user a `login` in this operation signed in: its answer is theirs to read. */
  signedInUserId: string | null;
  /** A short-lived fork for one-off reads that must not stay alive with a subscription. */
  fork(): EntityManager;
}

/**
 * Lazy on purpose: a WebSocket subscription gets a context per operation and keeps it while
 * open; thousands of idle subscriptions should not each hold an EntityManager and loaders (nor
 * closures of their own: the accessors live on the prototype).
 */
class OperationContext implements Context {
  private forked: EntityManager | undefined;
  private requestLoaders: Loaders | undefined;
  eventSequence: number | null = null;
  signedInUserId: string | null = null;

  constructor(
    private readonly rootEm: EntityManager,
    readonly services: Services,
    readonly viewer: Viewer | null,
    readonly clientAddress: string | null,
    readonly requestId: string,
  ) {}

  get em(): EntityManager {
    this.forked ??= this.rootEm.fork();
    return this.forked;
  }

  get loaders(): Loaders {
    this.requestLoaders ??= new Loaders(this.em);
    return this.requestLoaders;
  }

  set loaders(value: Loaders) {
    this.requestLoaders = value;
  }

  fork(): EntityManager {
    return this.rootEm.fork();
  }
}

export function createContext(
  rootEm: EntityManager,
  services: Services,
  viewer: Viewer | null,
  clientAddress: string | null = null,
  requestId: string = randomUUID(),
): Context {
  return new OperationContext(rootEm, services, viewer, clientAddress, requestId);
}

import type { EntityManager } from '@mikro-orm/postgresql';
import type { Viewer } from './auth/viewer.js';
import { Loaders } from './loaders.js';
import type { Services } from './services.js';

/** Per-operation context: its own EntityManager fork, loaders and the caller. */
export interface Context {
  readonly em: EntityManager;
  /**
   * Request-scoped. A subscription's context lives as long as the subscription, so each event
   * swaps in the loaders shared by everyone receiving that event (fresh data, shared batches).
   */
  loaders: Loaders;
  readonly viewer: Viewer | null;
  readonly services: Services;
}

export function createContext(rootEm: EntityManager, services: Services, viewer: Viewer | null): Context {
  const em = rootEm.fork();
  return { em, loaders: new Loaders(em), viewer, services };
}

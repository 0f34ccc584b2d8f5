import type { EntityManager } from '@mikro-orm/postgresql';
import type { Viewer } from './auth/viewer.js';
import { Loaders } from './loaders.js';
import type { Services } from './services.js';

/** Per-operation context: its own EntityManager fork, loaders and the caller. */
export interface Context {
  readonly em: EntityManager;
  readonly loaders: Loaders;
  readonly viewer: Viewer | null;
  readonly services: Services;
}

export function createContext(rootEm: EntityManager, services: Services, viewer: Viewer | null): Context {
  const em = rootEm.fork();
  return { em, loaders: new Loaders(em), viewer, services };
}

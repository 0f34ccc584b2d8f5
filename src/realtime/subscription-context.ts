import type { Viewer } from '../auth/viewer.js';
import type { Context } from '../context.js';
import { eventLoaders } from '../loaders.js';
import { NotFoundError, UnauthenticatedError } from '../shared/errors.js';
import type { EventScope } from './event-bus.js';
import type { Envelope } from './envelope.js';

/* What every feature's subscription resolvers share: the caller, the event's loaders, checks. */

export function viewerOf(context: Context): Viewer {
  if (!context.viewer) throw new UnauthenticatedError();
  return context.viewer;
}

/** Groups the operator belongs to, read per event so a revoked membership stops the stream. */
export async function memberOf(scope: EventScope, operatorId: string, groupId: string): Promise<boolean> {
  const groups = await eventLoaders(scope).groupsOfOperator.load(operatorId);
  return groups.some((g) => g.id === groupId);
}

export async function requireGroup(context: Context, groupId: string, field: string): Promise<void> {
  if (!(await context.services.groups.find(context.fork(), groupId))) throw new NotFoundError('Group', groupId, field);
}

/** The payload of one event, with the loaders its fields resolve with swapped into the context. */
export function unwrap<T>(envelope: Envelope<T>, context: Context): T {
  context.loaders = envelope.loaders;
  context.eventSequence = envelope.sequence ?? null;
  return envelope.value;
}

import type { MiddlewareFn } from 'type-graphql';
import type { Context } from '../context.js';

/**
 * A mutation's result (and any later field in the same request) is read after its commit:
 * drop what the request loaded before it.
 */
export const freshAfterMutation: MiddlewareFn<Context> = async ({ info, context }, next) => {
  if (info.parentType.name !== 'Mutation') return next();
  const result: unknown = await next();
  context.loaders.clearAll();
  context.em.clear();
  return result;
};

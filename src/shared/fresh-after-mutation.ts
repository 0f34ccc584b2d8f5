import type { ApolloServerPlugin } from '@apollo/server';
import { OperationTypeNode } from 'graphql';
import type { Context } from '../context.js';

/**
 * Each root mutation field's answer (and the fields after it in the same request) is read after
 * its commit: the request's loaders forget what they had loaded before. Queries are left alone,
 * so they pay no per-field cost.
 */
export const freshAfterMutation: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async executionDidStart({ operation, contextValue }) {
        if (operation.operation !== OperationTypeNode.MUTATION) return;
        return {
          willResolveField({ info }) {
            if (info.path.prev !== undefined) return;
            return () => {
              contextValue.loaders.clearAll();
            };
          },
        };
      },
    };
  },
};

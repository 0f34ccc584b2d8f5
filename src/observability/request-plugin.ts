import type { ApolloServerPlugin } from '@apollo/server';
import { randomUUID } from 'node:crypto';
import type { GraphQLFormattedError } from 'graphql';
import type { Context } from '../context.js';
import { formatReported, INTERNAL_SERVER_ERROR } from '../shared/format-error.js';

/** What a finished operation counts as: "ok", or its first error's code. */
export function outcomeOf(errors: readonly GraphQLFormattedError[] | undefined): string {
  if (!errors?.length) return 'ok';
  const code = errors[0].extensions?.['code'];
  return typeof code === 'string' ? code : INTERNAL_SERVER_ERROR;
}

/**
 * For each HTTP GraphQL request: internal errors logged with the request id, which their
 * answer carries as `extensions.requestId`; one log line (id, operation, role, client address,
 * duration, outcome — never variables) and the operation metrics.
 */
export const requestObserver: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    const startedAt = performance.now();
    return {
      async didEncounterErrors({ errors, contextValue }) {
        const { logger } = contextValue.services;
        for (const error of errors) {
          formatReported(error, (err) => logger.error({ requestId: contextValue.requestId, err }, 'internal error'));
        }
      },
      async willSendResponse({ response, contextValue, operation, operationName, request }) {
        const { requestId, services } = contextValue;
        const result = response.body.kind === 'single' ? response.body.singleResult : response.body.initialResult;
        if (result.errors) {
          result.errors = result.errors.map((error) =>
            error.extensions?.['code'] === INTERNAL_SERVER_ERROR
              ? { ...error, extensions: { ...error.extensions, requestId } }
              : error,
          );
        }
        const seconds = (performance.now() - startedAt) / 1000;
        const type = operation?.operation ?? 'unknown';
        const name = operationName ?? request.operationName ?? null;
        const outcome = outcomeOf(result.errors);
        services.metrics.recordOperation({ transport: 'http', name, type, outcome, seconds });
        services.logger.info(
          {
            requestId,
            operation: name,
            type,
            role: contextValue.viewer?.role ?? 'anonymous',
            clientAddress: contextValue.clientAddress,
            durationMs: Math.round(seconds * 10_000) / 10,
            outcome,
          },
          'graphql request',
        );
      },
    };
  },
};

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The caller's `x-request-id` when it is a short plain token, else a fresh one. */
export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}

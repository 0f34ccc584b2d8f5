import type { ApolloServerPlugin } from '@apollo/server';
import { randomUUID } from 'node:crypto';
import type { GraphQLFormattedError } from 'graphql';
import type { Context } from '../context.js';
import { DATABASE_UNAVAILABLE_RETRY_AFTER, ErrorCode } from '../shared/errors.js';
import { answeredError, formatReported, INTERNAL_SERVER_ERROR } from '../shared/format-error.js';

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
      async willSendResponse({ response, contextValue, operation, operationName, request, errors }) {
        const { requestId, services } = contextValue;
        const result = response.body.kind === 'single' ? response.body.singleResult : response.body.initialResult;
        const type = operation?.operation ?? 'unknown';
        if (result.errors) {
          // Apollo formats the errors it reported, in their order.
          const raw = errors?.length === result.errors.length ? errors : undefined;
          result.errors = result.errors.map((error, i) => answeredError(error, raw?.[i], type, requestId));
          const unavailable = result.errors.every((error) => error.extensions?.['code'] === ErrorCode.SERVICE_UNAVAILABLE);
          // Nothing answered, as when authentication finds the database away (src/server.ts).
          if (unavailable && result.errors.length > 0 && result.data == null) {
            response.http.status = 503;
            response.http.headers.set('retry-after', DATABASE_UNAVAILABLE_RETRY_AFTER);
          }
        }
        const seconds = (performance.now() - startedAt) / 1000;
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

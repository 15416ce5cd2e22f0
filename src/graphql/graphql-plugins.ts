import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { requestContextOf, type RequestWithContext } from '../common/ctx.decorator.js';
import type { MetricsService } from '../observability/metrics.service.js';
import { measureOperation } from './query-complexity.js';

/** Refuses an operation deeper or costlier than configured before any resolver runs. */
export function queryLimitsPlugin(limits: { maxDepth: number; maxCost: number }): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request }) {
          if (!operation) return;
          const { depth, cost } = measureOperation(document, operation, request.variables ?? {});
          const problem =
            depth > limits.maxDepth
              ? `Query depth ${depth} exceeds the limit of ${limits.maxDepth}`
              : cost > limits.maxCost
                ? `Query cost ${cost} exceeds the limit of ${limits.maxCost}; request fewer items per page`
                : undefined;
          if (problem) {
            throw new GraphQLError(problem, {
              extensions: { code: 'BAD_USER_INPUT', depth, cost, http: { status: 400 } },
            });
          }
        },
      };
    },
  };
}

/**
 * Operation counts and latency by operation name and type (error counts are kept by the error
 * formatter), and the operation's outcome handed to the access log (GraphQL answers 200 with errors in
 * the body: without this a refusal would read as a plain success there).
 */
export function graphqlMetricsPlugin(metrics: MetricsService): ApolloServerPlugin {
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({ operation, operationName, response, contextValue }) {
          const req = (contextValue as { req?: RequestWithContext & { graphqlOutcome?: GraphqlOutcome } }).req;
          const authenticated = req !== undefined && requestContextOf(req).actor !== undefined;
          const labels = { operation: metrics.operationLabel(operationName, authenticated), type: operation?.operation ?? 'unknown' };
          metrics.graphqlOperations.inc(labels);
          metrics.graphqlDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
          if (req) {
            req.graphqlOutcome = {
              operation: operationName ?? null,
              type: operation?.operation ?? null,
              errorCode: (errors?.[0]?.extensions?.code as string | undefined) ?? null,
            };
          }
        },
      };
    },
  };
}

/** What the access log says of a GraphQL request: the operation and, when it failed, the first error's code. */
export interface GraphqlOutcome {
  operation: string | null;
  type: string | null;
  errorCode: string | null;
}

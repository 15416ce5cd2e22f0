import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
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

/** Operation counts and latency by operation name and type. Error counts are kept by the error formatter. */
export function graphqlMetricsPlugin(metrics: MetricsService): ApolloServerPlugin {
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({ operation, operationName }) {
          const labels = { operation: metrics.operationLabel(operationName), type: operation?.operation ?? 'unknown' };
          metrics.graphqlOperations.inc(labels);
          metrics.graphqlDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
        },
      };
    },
  };
}

import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Module } from '@nestjs/common';
import { GraphQLModule as NestGraphQLModule } from '@nestjs/graphql';
import { AppConfig } from '../config/app-config.js';
import { MetricsService } from '../observability/metrics.service.js';
import { createGraphqlErrorFormatter } from './graphql-error-formatter.js';
import { graphqlMetricsPlugin, queryLimitsPlugin } from './graphql-plugins.js';
import { inputValidationPlugin } from './input-validation.plugin.js';
import { GraphqlIdeController } from './ide/graphql-ide.controller.js';

@Module({
  imports: [
    NestGraphQLModule.forRootAsync<ApolloDriverConfig>({
      driver: ApolloDriver,
      inject: [AppConfig, MetricsService],
      useFactory: (config: AppConfig, metrics: MetricsService) => {
        const development = config.nodeEnv === 'development';
        return {
          path: '/graphql',
          // Built in memory; the committed schema.gql is checked against it by test/e2e/schema.e2e-spec.ts
          // (`npm run schema` rewrites it).
          autoSchemaFile: true,
          sortSchema: true,
          introspection: true, // partners discover the API by introspection
          playground: false, // the IDE is served by GraphqlIdeController, without a CDN
          graphiql: false,
          includeStacktraceInErrorResponses: development,
          formatError: createGraphqlErrorFormatter(metrics, development),
          plugins: [queryLimitsPlugin(config.graphql), inputValidationPlugin(), graphqlMetricsPlugin(metrics)],
          context: ({ req, res }: { req: unknown; res: unknown }) => ({ req, res }),
        };
      },
    }),
  ],
  controllers: [GraphqlIdeController],
})
export class GraphqlModule {}

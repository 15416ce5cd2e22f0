import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { Kind, parse, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { requestContextOf, type RequestWithContext } from '../common/ctx.decorator.js';
import { BoundedMap } from '../cache/bounded-map.js';
import { AppConfig } from '../config/app-config.js';
import { measureOperation } from '../graphql/query-complexity.js';
import { MetricsService } from '../observability/metrics.service.js';
import { rateLimited } from './auth.errors.js';
import { failRequest, isGraphqlRequest } from './http-errors.js';
import { type RateLimitBucket, RateLimiter } from './rate-limiter.js';

/** Operations that try a credential: they draw from the stricter per-IP sign-in budget as well. */
export const SIGN_IN_OPERATIONS = new Set(['login', 'register', 'recoverAccount', 'serviceToken', 'changePassword']);

/** The FHIR API's SMART token endpoint (client credentials → serviceToken): a sign-in attempt like the operations above. */
export const SMART_TOKEN_PATH = '/fhir/R4/auth/token';

interface GraphqlBody {
  query?: unknown;
  operationName?: unknown;
  variables?: unknown;
}

/**
 * Per-actor and per-IP budgets per window, GraphQL-aware: an operation costs what
 * `measureOperation` says it will make the server do (the same measure the query limits use), a
 * REST request costs 1, and sign-in attempts also count against their own, stricter per-IP limit.
 * Every answer carries RateLimit-Limit/-Remaining/-Reset; a refusal is 429 RATE_LIMITED with Retry-After.
 */
@Injectable()
export class RateLimitMiddleware implements NestMiddleware {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    try {
      const ctx = requestContextOf(req as unknown as RequestWithContext);
      const limits = this.config.rateLimits;
      const ip = ctx.ip ?? 'unknown';
      const measured = isGraphqlRequest(req)
        ? measureGraphqlRequest(req.body)
        : { cost: 1, signInAttempts: req.method === 'POST' && req.path === SMART_TOKEN_PATH ? 1 : 0 };
      // An operation over the cost limit is refused before any resolver runs (queryLimitsPlugin): it is
      // charged as one request, not its cost, so the client's next attempt gets the cost message again
      // instead of RATE_LIMITED.
      const cost = measured.cost > this.config.graphql.maxCost ? 1 : measured.cost;
      const { signInAttempts } = measured;
      const buckets: RateLimitBucket[] = [
        ctx.actor ? { key: `${ctx.actor.kind}:${ctx.actor.id}`, limit: limits.userPoints } : { key: `ip:${ip}`, limit: limits.ipPoints },
      ];
      const now = ctx.now.getTime();
      let result = await this.limiter.consume(buckets, cost, limits.windowSeconds, now);
      if (result.allowed && signInAttempts > 0) {
        result = await this.limiter.consume([{ key: `sign-in:ip:${ip}`, limit: limits.loginAttempts }], signInAttempts, limits.windowSeconds, now);
      }
      res.setHeader('RateLimit-Limit', String(result.limit));
      res.setHeader('RateLimit-Remaining', String(result.remaining));
      res.setHeader('RateLimit-Reset', String(result.resetSeconds));
      if (!result.allowed) {
        res.setHeader('Retry-After', String(result.resetSeconds));
        throw rateLimited(result.resetSeconds, `Rate limit exceeded; try again in ${result.resetSeconds} s`);
      }
      next();
    } catch (error) {
      failRequest(req, res, next, error, this.metrics);
    }
  }
}

/**
 * Cost of a GraphQL request body before execution. A body that does not parse costs 1 (Apollo will
 * refuse it); a batch costs the sum of its operations.
 */
export function measureGraphqlRequest(body: unknown): { cost: number; signInAttempts: number } {
  const operations = Array.isArray(body) ? body : [body];
  let cost = 0;
  let signInAttempts = 0;
  for (const entry of operations) {
    const { query, operationName, variables } = (entry ?? {}) as GraphqlBody;
    const document = typeof query === 'string' ? parseOnce(query) : undefined;
    if (!document) {
      cost += 1;
      continue;
    }
    const definitions = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
    const operation = typeof operationName === 'string' ? definitions.find((d) => d.name?.value === operationName) : definitions[0];
    if (!operation) {
      cost += 1;
      continue;
    }
    const vars = variables && typeof variables === 'object' ? (variables as Record<string, unknown>) : {};
    cost += Math.max(1, measureOperation(document, operation, vars).cost);
    for (const selection of operation.selectionSet.selections) {
      if (selection.kind === Kind.FIELD && SIGN_IN_OPERATIONS.has(selection.name.value)) signInAttempts += 1;
    }
  }
  return { cost, signInAttempts };
}

/**
 * Parsed documents of recent queries. Clients send the same few operations over and over, and
 * parsing one again for every request was a quarter of this middleware's time; Apollo keeps its own
 * parsed copies the same way. Long queries are parsed every time, so the memo stays small.
 */
const parsedQueries = new BoundedMap<string, DocumentNode | undefined>(500);
const MAX_MEMOIZED_QUERY_LENGTH = 8 * 1024;

function parseOnce(query: string): DocumentNode | undefined {
  if (parsedQueries.has(query)) return parsedQueries.get(query);
  let document: DocumentNode | undefined;
  try {
    document = parse(query);
  } catch {
    document = undefined; // Apollo refuses it; here it costs 1
  }
  if (query.length <= MAX_MEMOIZED_QUERY_LENGTH) parsedQueries.set(query, document);
  return document;
}

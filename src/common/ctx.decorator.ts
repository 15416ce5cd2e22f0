import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import { clientIp } from './client-ip.js';
import { currentRequestId } from '../observability/request-context.js';
import type { RequestContext } from './request-context.js';

/** Where the authentication middleware leaves the request's context on the express request. */
export const REQUEST_CONTEXT_KEY = 'healthledgerContext';

export type RequestWithContext = { [REQUEST_CONTEXT_KEY]?: RequestContext; ip?: string };

export function requestFromExecutionContext(context: ExecutionContext): RequestWithContext {
  if (context.getType<string>() === 'graphql') {
    return GqlExecutionContext.create(context).getContext<{ req: RequestWithContext }>().req;
  }
  return context.switchToHttp().getRequest<RequestWithContext>();
}

/** The request's context (anonymous when no authentication ran), for GraphQL resolvers and REST routes alike. */
export function requestContextOf(request: RequestWithContext): RequestContext {
  return request[REQUEST_CONTEXT_KEY] ?? { requestId: currentRequestId() ?? 'unknown', ip: clientIp(request), now: new Date() };
}

/** `@Ctx() ctx: RequestContext` — the first argument every service method takes. */
export const Ctx = createParamDecorator((_data: unknown, context: ExecutionContext): RequestContext =>
  requestContextOf(requestFromExecutionContext(context)),
);

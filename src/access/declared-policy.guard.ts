import { type CanActivate, type ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DomainError } from '../common/domain-error.js';
import { ACCESS_POLICY_KEY, type AccessPolicy } from './public.decorator.js';

/**
 * Deny by default: a resolver or route runs only if it declares its access policy. A handler that
 * declares none is a programming error and is refused (FORBIDDEN) for everyone, loudly in the log.
 */
@Injectable()
export class DeclaredPolicyGuard implements CanActivate {
  private readonly logger = new Logger('Access');

  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const policy = this.reflector.getAllAndOverride<AccessPolicy | undefined>(ACCESS_POLICY_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (policy?.kind === 'public') return true;
    const handler = `${context.getClass().name}.${context.getHandler().name}`;
    this.logger.error(`refused ${handler}: it declares no access policy`);
    throw new DomainError('FORBIDDEN', 'Access denied');
  }
}

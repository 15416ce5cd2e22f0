import { type CanActivate, type ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { requestContextOf, requestFromExecutionContext } from '../common/ctx.decorator.js';
import { AccessRefusedError, DomainError } from '../common/domain-error.js';
import { AbilityFactory } from './ability.factory.js';
import { ACCESS_POLICY_KEY, type AccessPolicy } from './public.decorator.js';

/**
 * Deny by default: a resolver or route runs only if it declares its access policy.
 * - none declared: a programming error, refused (FORBIDDEN) for everyone, loudly in the log;
 * - `@Public`: everyone;
 * - `@Authenticated`: any actor the authentication middleware identified (else UNAUTHENTICATED);
 * - `@RequirePermission(action, subject)`: an actor whose role-level ability allows it (else
 *   UNAUTHENTICATED without an actor, FORBIDDEN with one).
 */
@Injectable()
export class DeclaredPolicyGuard implements CanActivate {
  private readonly logger = new Logger('Access');

  constructor(
    private readonly reflector: Reflector,
    private readonly abilities: AbilityFactory,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const policy = this.reflector.getAllAndOverride<AccessPolicy | undefined>(ACCESS_POLICY_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!policy) {
      const handler = `${context.getClass().name}.${context.getHandler().name}`;
      this.logger.error(`refused ${handler}: it declares no access policy`);
      throw new DomainError('FORBIDDEN', 'Access denied');
    }
    if (policy.kind === 'public') return true;

    const ctx = requestContextOf(requestFromExecutionContext(context));
    if (!ctx.actor) throw new DomainError('UNAUTHENTICATED', 'Authentication required');
    if (policy.kind === 'authenticated') return true;

    const ability = this.abilities.createForActor({ actor: ctx.actor, now: ctx.now, purpose: ctx.purpose });
    // Whether the actor's role (and kind of account) allows this operation at all: nothing about any target.
    if (!ability.can(policy.action, policy.subject)) throw new AccessRefusedError('ROLE_NOT_ALLOWED');
    return true;
  }
}

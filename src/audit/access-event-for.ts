import type { AccessDecision, Purpose } from 'healthledger-chaincode/shared';
import { SYSTEM_ACTOR } from '../common/request-context.js';
import { SYSTEM_ROLE, type AccessEventInput, type AuditActorRole } from './access-event.js';

/** Whom an access event names as acting: a signed-in user, a service account, or what a ticket carries. */
export interface AuditedActor {
  readonly id: string;
  readonly role: AuditActorRole;
  readonly organizationId: string | null;
}

/**
 * Where an event is built: the actor, and for a request its id and the instant its decisions were
 * made at (a RequestContext is one).
 */
export interface AuditContext {
  readonly actor?: AuditedActor;
  readonly requestId?: string | null;
  readonly now?: Date;
}

/** What one access (or refusal) was: to whose data, what, decided how and why. */
export interface AccessFacts {
  readonly action: string;
  readonly decision: AccessDecision;
  /** A reason code (the policy's CONSENT, NO_CONSENT, …), never free text. */
  readonly reason: string;
  readonly purpose: Purpose | null;
  /** Null for an access to nobody's record (an unknown id). */
  readonly patientId: string | null;
  readonly patientOrganizationId: string | null;
  readonly recordId?: string | null;
}

/** Request ids come from a header: one the access event format cannot hold is left out, never fails the action. */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * The access event of an actor's action: the only way modules build one, so every event names its
 * actor, patient, decision and request the same way. Throws when the context has no actor (a caller's
 * bug: anonymous requests reach no patient data).
 */
export function accessEventFor(ctx: AuditContext, facts: AccessFacts): AccessEventInput {
  const actor = ctx.actor;
  if (!actor) throw new Error(`an access event (${facts.action}) needs an actor`);
  return eventOf(actor, facts, ctx.requestId ?? null, ctx.now);
}

/**
 * The access event of work the server does by itself (e.g. a data-key rotation): the system actor, no
 * organization. `correlationId` takes the request id's place to name what caused the work.
 */
export function systemAccessEvent(facts: AccessFacts & { readonly correlationId?: string | null }): AccessEventInput {
  const { correlationId, ...rest } = facts;
  return eventOf({ id: SYSTEM_ACTOR.id, role: SYSTEM_ROLE, organizationId: null }, rest, correlationId ?? null, undefined);
}

function eventOf(actor: AuditedActor, facts: AccessFacts, requestId: string | null, at: Date | undefined): AccessEventInput {
  return {
    actorId: actor.id,
    actorRole: actor.role,
    actorOrganizationId: actor.organizationId,
    patientId: facts.patientId,
    patientOrganizationId: facts.patientOrganizationId,
    recordId: facts.recordId ?? null,
    action: facts.action,
    purpose: facts.purpose,
    decision: facts.decision,
    reason: facts.reason,
    requestId: requestId !== null && REQUEST_ID.test(requestId) ? requestId : null,
    ...(at ? { at } : {}),
  };
}

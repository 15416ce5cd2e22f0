import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  ROLE_PERMISSIONS,
  decideAccess,
  type AccessDecision,
  type AccessDecisionResult,
  type AccessReasonCode,
  type ConsentAction,
  type Purpose,
  RECORD_CATEGORIES,
} from 'healthledger-chaincode/shared';
import type { Brackets } from 'typeorm';
import { AccessRefusedError, DomainError, type RefusalReason } from '../common/domain-error.js';
import type { Actor, RequestContext } from '../common/request-context.js';
import {
  AbilityFactory,
  DEFAULT_PURPOSE,
  PATIENT_WITHOUT_ORGANIZATION,
  NO_GRANTS,
  decodeRuleReason,
  recordSubject,
  taggedSubject,
  toCaslAction,
  toPolicyActor,
  type AccessAction,
  type AccessSubjectType,
  type AppAbility,
  type PatientGrants,
  type RecordAttributes,
  type SubjectAttributes,
  type TaggedSubject,
} from './ability.factory.js';
import { AccessDecisionCache } from './access-decision-cache.js';
import { accessibleBy, type SqlFilterOptions } from './casl-to-sql.js';
import { CONSENT_SOURCE, type ConsentSource } from './consent-source.js';
import { refusalReasonFor } from './refusal-reason.js';
import { ServiceScopes } from './service-scopes.js';

/**
 * `SCOPE_NOT_GRANTED`: a service account's scopes do not cover the request (the role would allow it).
 * `POLICY_MISMATCH`: the CASL ability and `decideAccess` disagreed; refused and logged as an error.
 */
export type AccessCheckCode = AccessReasonCode | 'SCOPE_NOT_GRANTED' | 'POLICY_MISMATCH';

/** The outcome of one record access check, with what an audit entry needs. */
export interface AccessCheck {
  readonly decision: AccessDecision;
  readonly code: AccessCheckCode;
  readonly reason: string;
  readonly purpose: Purpose;
  readonly consentId?: string;
  readonly emergencyAccessId?: string;
}

/**
 * The one refusal for anything about a patient's data: it does not say whether the target exists. The
 * reason, when given, must be one the caller would get whether or not it does (see REFUSAL_REASONS).
 */
export function accessDenied(reason?: RefusalReason): DomainError {
  return new AccessRefusedError(reason);
}

/** A patient id no one has: decisions about a record nobody may be told of are made for it. */
const NO_PATIENT = '\u0000no-patient';

/**
 * The one decision path for patient data: AccessCheckedRecords (Medplum's getRepoForLogin) asks it before
 * any read or write of a record and takes its list filters from it, so GraphQL and REST cannot differ.
 * Each record decision is made twice, by the request's CASL ability and by `decideAccess`, the
 * policy shared with the chaincode; both must agree or the request is refused.
 */
@Injectable()
export class AccessService {
  private readonly logger = new Logger('Access');

  constructor(
    private readonly abilities: AbilityFactory,
    @Inject(CONSENT_SOURCE) private readonly consents: ConsentSource,
    private readonly decisions: AccessDecisionCache,
  ) {}

  /** The decision for one record (existing, or about to be created when `recordId` is absent), never throwing for a denial. */
  async decide(ctx: RequestContext, action: ConsentAction, resource: RecordAttributes): Promise<AccessCheck> {
    const actor = requireActor(ctx);
    const purpose = ctx.purpose ?? DEFAULT_PURPOSE;
    const key = await this.decisions.keyFor(resource.patientId, {
      actor: { kind: actor.kind, id: actor.id, role: actor.role, organizationId: actor.organizationId, attributes: actor.attributes },
      scopes: actor.kind === 'service' ? actor.scopes : null,
      action,
      purpose,
      resource,
    });
    const cached = await this.decisions.get<AccessCheck>(key, ctx.now);
    // A grant cached before a revocation this node knows of (from the ledger, or made here) is stale even
    // if the cache was never told: the invalidation may have failed, or the cache came back with old entries.
    if (cached && !(cached.consentId && this.consents.isRevoked(cached.consentId))) return cached;

    const grants = await this.consents.grantsFor(ctx, resource.patientId, actor.id);
    const check = this.decideWith(ctx, grants, action, resource);
    await this.decisions.set(key, check, ctx.now, grants);
    return check;
  }

  /** Like `decide`, but a denial throws FORBIDDEN (no detail: the caller can't tell a missing record from a refused one). */
  async authorize(ctx: RequestContext, action: ConsentAction, resource: RecordAttributes): Promise<AccessCheck> {
    const check = await this.decide(ctx, action, resource);
    if (check.decision === 'DENIED') throw accessDenied();
    return check;
  }

  /**
   * The refusal of a decision about a target the caller named itself (a patient and category it sent,
   * as `createRecord` does): its reason rests only on what the caller sent and on the grants that name
   * the caller, so it may be told. Never for a record the caller reached by id (see `refusalWithoutTarget`).
   */
  refusalOf(check: AccessCheck): DomainError {
    return accessDenied(refusalReasonFor(check.code));
  }

  /**
   * The refusal of `action` on a record the caller named by id only and may not reach: its reason holds
   * for any record, existing or not, of any patient, so it tells nothing about this one. In order: the
   * service account's scopes allow the action on no category (SCOPE_NOT_GRANTED); the role may not act
   * on others' records, or not for this purpose (ROLE_NOT_ALLOWED, PURPOSE_NOT_ALLOWED); a reader who
   * holds an active break-glass access but did not declare EMERGENCY (PURPOSE_REQUIRED, whichever
   * patient that access is for); else NO_CONSENT.
   */
  async refusalWithoutTarget(ctx: RequestContext, action: ConsentAction): Promise<DomainError> {
    const actor = requireActor(ctx);
    const purpose = ctx.purpose ?? DEFAULT_PURPOSE;
    const scoped = actor.kind === 'service' ? new ServiceScopes(actor.scopes).recordCategories(action === 'READ' ? 'read' : 'amend') : 'all';
    if (scoped !== 'all' && scoped.length === 0) return accessDenied('SCOPE_NOT_GRANTED');
    const nobody = { patientId: NO_PATIENT, patientOrganizationId: null, category: 'OTHER' } as const;
    const policy = decideWithPolicy(actor, NO_GRANTS, action, purpose, nobody, ctx.now);
    if (
      policy.code === 'NO_CONSENT' &&
      action === 'READ' &&
      purpose !== 'EMERGENCY' &&
      ROLE_PERMISSIONS[actor.role].breakGlass &&
      (await this.consents.holdsEmergencyAccess(ctx, actor.id, ctx.now))
    ) {
      return accessDenied('PURPOSE_REQUIRED');
    }
    return accessDenied(refusalReasonFor(policy.code));
  }

  /** The decision from grants already at hand (exposed for the policy table; `decide` loads and caches them). */
  decideWith(ctx: RequestContext, grants: PatientGrants, action: ConsentAction, resource: RecordAttributes): AccessCheck {
    const actor = requireActor(ctx);
    const purpose = ctx.purpose ?? DEFAULT_PURPOSE;
    const ability = this.abilities.createForActor({ actor, now: ctx.now, purpose: ctx.purpose }, grants);
    const rule = ability.relevantRuleFor(toCaslAction(action), recordSubject(resource));
    const ruleReason = decodeRuleReason(rule?.reason);
    if (rule?.inverted && ruleReason?.code === 'SCOPE_NOT_GRANTED') {
      return { decision: 'DENIED', code: 'SCOPE_NOT_GRANTED', reason: `the service account's scopes do not allow ${action} ${resource.category}`, purpose };
    }
    const caslDecision: AccessDecision = rule && !rule.inverted && ruleReason && 'decision' in ruleReason ? ruleReason.decision : 'DENIED';
    const policy = decideWithPolicy(actor, grants, action, purpose, resource, ctx.now);
    if (policy.decision !== caslDecision) {
      this.logger.error(
        `policy mismatch for ${actor.kind} ${actor.id}: CASL ${caslDecision}, decideAccess ${policy.decision} (${policy.code}) on ${action} ${resource.category}`,
      );
      return { decision: 'DENIED', code: 'POLICY_MISMATCH', reason: 'the access rules disagree; refused', purpose };
    }
    return { ...policy, purpose };
  }

  /**
   * The rows of one patient's records the actor may `action`, as a WHERE clause to add to the query
   * (`qb.andWhere(await access.recordFilter(ctx, 'read', patientId, { alias: 'record', fields }))`).
   * `fields` maps patientId, patientOrganizationId, recordId and category to columns.
   */
  async recordFilter(ctx: RequestContext, action: ConsentAction, patientId: string, options: SqlFilterOptions): Promise<Brackets> {
    return accessibleBy(await this.abilityForPatient(ctx, patientId), toCaslAction(action), 'MedicalRecord', options);
  }

  /** The actor's ability including one patient's consents and the actor's break-glass grants for them. */
  async abilityForPatient(ctx: RequestContext, patientId: string): Promise<AppAbility> {
    const actor = requireActor(ctx);
    return this.abilities.createForActor({ actor, now: ctx.now, purpose: ctx.purpose }, await this.consents.grantsFor(ctx, patientId, actor.id));
  }

  /**
   * Whether the actor may know that this patient exists (their id, name, organization), by the policy
   * as it stands, nothing added: the patient themselves; whoever may read their user (their
   * organization's ADMIN, a system administrator); whoever the policy lets read or write any of their
   * records at this instant and purpose (a consent naming the actor or their organization, break-glass,
   * care by the patient's own organization). A service account's scopes limit it as for records.
   */
  async mayKnowPatient(ctx: RequestContext, patient: { id: string; organizationId: string | null }): Promise<boolean> {
    const actor = requireActor(ctx);
    if (actor.id === patient.id) return true;
    const grants = await this.consents.grantsFor(ctx, patient.id, actor.id);
    const ability = this.abilities.createForActor({ actor, now: ctx.now, purpose: ctx.purpose }, grants);
    if (ability.can('read', taggedSubject('User', { id: patient.id, organizationId: patient.organizationId }) as TaggedSubject)) return true;
    const { consents } = grants;
    // Records a consent names by id: the rules open them by id, whatever their category.
    const recordIds = [undefined, ...consents.flatMap((consent) => consent.scope.recordIds)];
    return (['read', 'write'] as const).some((action) =>
      RECORD_CATEGORIES.some((category) =>
        recordIds.some((recordId) =>
          ability.can(action, recordSubject({ patientId: patient.id, patientOrganizationId: patient.organizationId, category, ...(recordId ? { recordId } : {}) })),
        ),
      ),
    );
  }

  /**
   * Whether the actor may know every patient of this organization by role alone, with no consent or
   * break-glass grant: their organization's ADMIN (reads its users), a system administrator, and the
   * care roles the policy lets write for their own organization's patients under this request's purpose
   * (own-organization writes: TREATMENT). The same rules `mayKnowPatient` applies, asked for a patient
   * that is nobody in particular, so a patient list can be one query instead of one check per patient.
   */
  mayKnowEveryPatientOf(ctx: RequestContext, organizationId: string): boolean {
    const actor = requireActor(ctx);
    const ability = this.abilities.createForActor({ actor, now: ctx.now, purpose: ctx.purpose });
    if (ability.can('read', taggedSubject('User', { organizationId }) as TaggedSubject)) return true;
    return (['read', 'write'] as const).some((action) =>
      RECORD_CATEGORIES.some((category) => ability.can(action, recordSubject({ patientId: ANY_PATIENT, patientOrganizationId: organizationId, category }))),
    );
  }

  /**
   * Management checks (consents, access requests, users, organizations, service accounts): throws
   * FORBIDDEN unless the actor may `action` this subject, e.g. `assertCan(ctx, 'revoke', 'Consent', { patientId })`.
   */
  assertCan<K extends Exclude<AccessSubjectType, 'MedicalRecord'>>(
    ctx: RequestContext,
    action: AccessAction,
    subjectType: K,
    attributes: SubjectAttributes[K],
  ): void {
    const ability = this.abilities.createForActor({ actor: requireActor(ctx), now: ctx.now, purpose: ctx.purpose });
    if (!ability.can(action, taggedSubject(subjectType, attributes) as TaggedSubject)) throw accessDenied();
  }

  /** Call before a consent or break-glass change returns; throws SERVICE_UNAVAILABLE if the cache can't be reached. */
  invalidateForPatient(patientId: string): Promise<void> {
    return this.decisions.invalidateForPatient(patientId);
  }

  /** After a consent change that already took effect: never throws; done before this node uses the cache again if it is down. */
  invalidateForPatientOrLater(patientId: string): Promise<void> {
    return this.decisions.invalidateForPatientOrLater(patientId);
  }
}

/** A patient id no actor has: rules that open a patient by id (the patient's own, a grant's) never match it. */
const ANY_PATIENT = '\u0000any-patient';

export function requireActor(ctx: RequestContext): Actor {
  if (!ctx.actor) throw new DomainError('UNAUTHENTICATED', 'Authentication required');
  return ctx.actor;
}

/**
 * `decideAccess` over all of the actor's emergency grants for the patient (the policy takes one): the
 * first that lets the request through, else the one expiring last (for the denial reason), which is
 * how the chaincode's CheckAccess picks.
 */
function decideWithPolicy(
  actor: Actor,
  grants: PatientGrants,
  action: ConsentAction,
  purpose: Purpose,
  resource: RecordAttributes,
  now: Date,
): AccessDecisionResult {
  const input = {
    actor: toPolicyActor(actor),
    resource: {
      patientId: resource.patientId,
      patientOrganizationId: resource.patientOrganizationId ?? PATIENT_WITHOUT_ORGANIZATION,
      recordId: resource.recordId,
      category: resource.category,
    },
    action,
    purpose,
    consents: grants.consents,
    // An invalid clock reading reaches the policy as such, which refuses it (INVALID_INPUT).
    now: Number.isNaN(now.getTime()) ? String(now) : now.toISOString(),
  };
  const emergencies = [...grants.emergencies].sort((a, b) => Date.parse(b.expiresAt) - Date.parse(a.expiresAt));
  if (emergencies.length === 0) return decideAccess({ ...input, emergency: null });
  const results = emergencies.map((emergency) => decideAccess({ ...input, emergency }));
  return results.find((result) => result.decision !== 'DENIED') ?? results[0];
}

import { Injectable } from '@nestjs/common';
import { AbilityBuilder, createMongoAbility, subject, type ForcedSubject, type MongoAbility, type MongoQuery } from '@casl/ability';
import {
  CONSENT_ACTIONS,
  OWN_ORGANIZATION_WRITE_PURPOSE,
  RECORD_CATEGORIES,
  ROLE_PERMISSIONS,
  decideAccess,
  type AccessActor,
  type AccessDecision,
  type ConsentAction,
  type PolicyConsent,
  type PolicyEmergencyGrant,
  type Purpose,
  type RecordCategory,
  type RolePermissions,
} from 'healthledger-chaincode/shared';
import type { Actor } from '../common/request-context.js';
import { ServiceScopes } from './service-scopes.js';

/**
 * What can be done (CASL actions). Records use `read`/`write`, the policy's READ/WRITE (write covers
 * creating and amending); the rest are the management operations of the API. `list` is browsing
 * users or organizations as an administrator (the `users` and `organizations` queries), narrower than
 * `read`, which everyone has on their own user and organization.
 */
export type AccessAction = 'read' | 'write' | 'create' | 'update' | 'delete' | 'revoke' | 'respond' | 'list';

/** What it can be done to (CASL subject types). */
export type AccessSubjectType =
  | 'MedicalRecord'
  | 'Consent'
  | 'AccessRequest'
  | 'EmergencyAccess'
  | 'AccessEvent'
  | 'Organization'
  | 'User'
  | 'ServiceAccount';

/**
 * A record as the rules see it (the fields the conditions name, which a query maps to columns).
 * `recordId` is absent for a record about to be created. (A type, not an interface, so that it is a
 * plain record for CASL.)
 */
export type RecordAttributes = {
  readonly patientId: string;
  readonly patientOrganizationId: string | null;
  readonly recordId?: string;
  readonly category: RecordCategory;
};

/** The attributes rule conditions may name, per subject type (queries map them to columns). */
export interface SubjectAttributes {
  MedicalRecord: RecordAttributes;
  Consent: { readonly patientId: string };
  AccessRequest: { readonly patientId: string; readonly requesterId?: string };
  EmergencyAccess: { readonly patientId: string; readonly actorId?: string };
  AccessEvent: { readonly patientId?: string | null; readonly patientOrganizationId?: string | null };
  Organization: { readonly id: string };
  User: { readonly id?: string; readonly organizationId: string | null };
  ServiceAccount: { readonly organizationId: string };
}

/** A subject instance, tagged with its type: build one with `subject(type, attributes)` or `recordSubject`. */
export type TaggedSubject = { [K in AccessSubjectType]: SubjectAttributes[K] & ForcedSubject<K> }[AccessSubjectType];

/** Conditions are Mongo-style queries over the SubjectAttributes of the rule's subject type. */
export type AppAbility = MongoAbility<[AccessAction, AccessSubjectType | TaggedSubject], MongoQuery>;

/** The patient's consents and the actor's emergency grants for that patient (see ConsentSource). */
export interface PatientGrants {
  readonly consents: readonly PolicyConsent[];
  readonly emergencies: readonly PolicyEmergencyGrant[];
}

export const NO_GRANTS: PatientGrants = Object.freeze({ consents: [], emergencies: [] });

export interface AbilityContext {
  readonly actor: Actor;
  /** The request's clock reading: consent and break-glass windows are evaluated at this instant only. */
  readonly now: Date;
  readonly purpose?: Purpose;
}

/**
 * Why a record rule allows. Carried as the CASL rule's `reason` so that the rule that decides a
 * check (`relevantRuleFor`) tells the decision (GRANTED or EMERGENCY) and what it rests on.
 */
export interface RecordGrantReason {
  readonly decision: Exclude<AccessDecision, 'DENIED'>;
  readonly code: 'PATIENT_SELF' | 'CONSENT' | 'OWN_ORGANIZATION_WRITE' | 'BREAK_GLASS' | 'SCOPE_NOT_GRANTED';
  readonly consentId?: string;
  readonly emergencyAccessId?: string;
}

const REASON_PREFIX = 'healthledger:';

export function encodeRuleReason(reason: RecordGrantReason | { code: 'SCOPE_NOT_GRANTED' }): string {
  return REASON_PREFIX + JSON.stringify(reason);
}

export function decodeRuleReason(text: string | undefined): RecordGrantReason | { code: 'SCOPE_NOT_GRANTED' } | undefined {
  if (!text?.startsWith(REASON_PREFIX)) return undefined;
  return JSON.parse(text.slice(REASON_PREFIX.length)) as RecordGrantReason;
}

/** Purpose of use when the request declares none. */
export const DEFAULT_PURPOSE: Purpose = 'TREATMENT';

/**
 * An actor that has no organization (a system administrator) must never match a patient's
 * organization, not even a patient stored without one: the two placeholders differ.
 */
const ACTOR_WITHOUT_ORGANIZATION = '\u0000actor-without-organization';
export const PATIENT_WITHOUT_ORGANIZATION = '\u0000patient-without-organization';

/** The policy's view of an actor (the shape `decideAccess` takes). */
export function toPolicyActor(actor: Actor): AccessActor {
  return {
    id: actor.id,
    role: actor.role,
    organizationId: actor.organizationId ?? ACTOR_WITHOUT_ORGANIZATION,
    attributes: actor.attributes,
  };
}

/** The CASL action of a policy action on records. */
export const toCaslAction = (action: ConsentAction): 'read' | 'write' => (action === 'READ' ? 'read' : 'write');

/** A record checked against an ability: `ability.can('read', recordSubject(attrs))`. */
export function recordSubject(record: RecordAttributes): SubjectAttributes['MedicalRecord'] & ForcedSubject<'MedicalRecord'> {
  return subject('MedicalRecord', { ...record });
}

/** Any other subject instance: `taggedSubject('Consent', { patientId })`. */
export function taggedSubject<K extends AccessSubjectType>(type: K, attributes: SubjectAttributes[K]): SubjectAttributes[K] & ForcedSubject<K> {
  return subject(type, { ...attributes });
}

/**
 * Builds the CASL ability of one actor for one request: hybrid RBAC (ROLE_PERMISSIONS, the table
 * the chaincode enforces) and ABAC (organization, department, patient-self, consents, purpose,
 * break-glass). The rules never restate the consent or break-glass logic: which records a consent or
 * an emergency grant opens is asked of `decideAccess` itself, category by category and record by
 * record, at the request's instant. The policy-table spec proves the result decides exactly like
 * `decideAccess` on every case of POLICY_CASES.
 *
 * Rules are added lowest precedence first (CASL lets later rules win), in the reverse of
 * decideAccess's order, so the rule that decides a check carries the reason the policy would give.
 */
@Injectable()
export class AbilityFactory {
  /**
   * @param grants the consents/emergency grants of the patient(s) whose records are in question; without
   *   them the ability holds the role-level capabilities only (what the declared-policy guard checks).
   */
  createForActor(context: AbilityContext, grants: PatientGrants | readonly PatientGrants[] = NO_GRANTS): AppAbility {
    const builder = new AbilityBuilder<AppAbility>(createMongoAbility);
    const { actor } = context;
    const permissions: RolePermissions | undefined = ROLE_PERMISSIONS[actor.role];
    // A context without a valid clock reading or with an unknown role grants nothing at all.
    if (!permissions || Number.isNaN(context.now.getTime())) return builder.build();

    const purpose = context.purpose ?? DEFAULT_PURPOSE;
    const now = context.now.toISOString();
    const policyActor = toPolicyActor(actor);

    for (const patientGrants of [grants].flat()) {
      addBreakGlassRules(builder, policyActor, purpose, now, patientGrants.emergencies);
    }
    if (permissions.ownOrganizationWrite && purpose === OWN_ORGANIZATION_WRITE_PURPOSE && actor.organizationId) {
      builder
        .can('write', 'MedicalRecord', { patientOrganizationId: actor.organizationId })
        .because(encodeRuleReason({ decision: 'GRANTED', code: 'OWN_ORGANIZATION_WRITE' }));
    }
    for (const patientGrants of [grants].flat()) {
      for (const consent of patientGrants.consents) addConsentRules(builder, policyActor, purpose, now, consent);
    }
    if (permissions.ownRecordActions.length > 0) {
      builder
        .can(permissions.ownRecordActions.map(toCaslAction), 'MedicalRecord', { patientId: actor.id })
        .because(encodeRuleReason({ decision: 'GRANTED', code: 'PATIENT_SELF' }));
    }

    addManagementRules(builder, actor, permissions);
    if (actor.kind === 'service') addScopeLimits(builder, actor.scopes);
    return builder.build();
  }
}

/** Consent rules: the categories and record ids for which `decideAccess` says this consent grants. */
function addConsentRules(
  builder: AbilityBuilder<AppAbility>,
  actor: AccessActor,
  purpose: Purpose,
  now: string,
  consent: PolicyConsent,
): void {
  for (const action of CONSENT_ACTIONS) {
    const grants = (resource: { recordId?: string; category: RecordCategory }) => {
      const result = decideAccess({
        actor,
        resource: { patientId: consent.patientId, patientOrganizationId: PATIENT_WITHOUT_ORGANIZATION, ...resource },
        action,
        purpose,
        consents: [consent],
        now,
      });
      return result.code === 'CONSENT' && result.consentId === consent.id;
    };
    const categories = RECORD_CATEGORIES.filter((category) => grants({ category }));
    const uncovered = RECORD_CATEGORIES.find((category) => !categories.includes(category));
    const recordIds = uncovered ? consent.scope.recordIds.filter((recordId) => grants({ recordId, category: uncovered })) : [];
    const reason = encodeRuleReason({ decision: 'GRANTED', code: 'CONSENT', consentId: consent.id });
    if (categories.length > 0) {
      builder.can(toCaslAction(action), 'MedicalRecord', { patientId: consent.patientId, category: { $in: categories } }).because(reason);
    }
    if (recordIds.length > 0) {
      builder.can(toCaslAction(action), 'MedicalRecord', { patientId: consent.patientId, recordId: { $in: recordIds } }).because(reason);
    }
  }
}

/** Break-glass rules: the categories for which `decideAccess` honours this emergency grant. */
function addBreakGlassRules(
  builder: AbilityBuilder<AppAbility>,
  actor: AccessActor,
  purpose: Purpose,
  now: string,
  emergencies: readonly PolicyEmergencyGrant[],
): void {
  for (const emergency of emergencies) {
    for (const action of CONSENT_ACTIONS) {
      const categories = RECORD_CATEGORIES.filter((category) => {
        const result = decideAccess({
          actor,
          resource: { patientId: emergency.patientId, patientOrganizationId: PATIENT_WITHOUT_ORGANIZATION, category },
          action,
          purpose,
          consents: [],
          emergency,
          now,
        });
        return result.decision === 'EMERGENCY' && result.emergencyAccessId === emergency.id;
      });
      if (categories.length === 0) continue;
      builder
        .can(toCaslAction(action), 'MedicalRecord', { patientId: emergency.patientId, category: { $in: categories } })
        .because(encodeRuleReason({ decision: 'EMERGENCY', code: 'BREAK_GLASS', emergencyAccessId: emergency.id }));
    }
  }
}

/**
 * Everything but record content. System administrators create organizations (and their first
 * users); an organization's ADMIN manages its users and service accounts; patients manage their
 * consents and answer access requests; care roles ask for access and break glass as ROLE_PERMISSIONS
 * allows; patients, AUDITORs and ADMINs read access logs (their own, or their organization's).
 */
function addManagementRules(builder: AbilityBuilder<AppAbility>, actor: Actor, permissions: RolePermissions): void {
  if (actor.kind !== 'user') return;
  const { can } = builder;
  can('read', 'User', { id: actor.id });
  if (actor.organizationId) can('read', 'Organization', { id: actor.organizationId });

  if (actor.systemAdmin) {
    can(['create', 'read', 'list'], 'Organization');
    can(['create', 'read', 'update', 'list'], 'User'); // update: disable and enable any user
    // List and revoke any organization's service accounts (a leaked credential is cut without its organization):
    // neither shows a secret or patient data, and revoking only takes access away. Creating one is its
    // organization ADMIN's: the secret it returns reaches patient data.
    can(['read', 'delete'], 'ServiceAccount');
  }
  if (actor.role === 'ADMIN' && actor.organizationId) {
    can(['create', 'read', 'update', 'list'], 'User', { organizationId: actor.organizationId });
    can('list', 'Organization', { id: actor.organizationId });
    can(['create', 'read', 'delete'], 'ServiceAccount', { organizationId: actor.organizationId });
    can('read', 'AccessEvent', { patientOrganizationId: actor.organizationId });
  }
  if (actor.role === 'AUDITOR' && actor.organizationId) {
    can('read', 'AccessEvent', { patientOrganizationId: actor.organizationId });
  }
  if (permissions.ownRecordActions.length > 0) {
    can(['create', 'read', 'revoke'], 'Consent', { patientId: actor.id });
    can(['read', 'respond'], 'AccessRequest', { patientId: actor.id });
    can('read', 'AccessEvent', { patientId: actor.id });
    can('read', 'EmergencyAccess', { patientId: actor.id });
  }
  if (permissions.consentActions.length > 0) {
    can('create', 'AccessRequest');
    can('read', 'AccessRequest', { requesterId: actor.id });
  }
  if (permissions.breakGlass) {
    can('create', 'EmergencyAccess');
    can('read', 'EmergencyAccess', { actorId: actor.id });
  }
}

/**
 * Service accounts act only within their scopes (ServiceScopes: SMART v2 system scopes, or the
 * earlier `records:*` names for them): reading needs DocumentReference read/search or Binary read for
 * the record's category, creating DocumentReference create, amending DocumentReference update. The
 * limits are `cannot` rules added last, so they override every grant of the role.
 */
function addScopeLimits(builder: AbilityBuilder<AppAbility>, scopes: readonly string[]): void {
  const reason = encodeRuleReason({ code: 'SCOPE_NOT_GRANTED' });
  const granted = new ServiceScopes(scopes);
  const limit = (action: AccessAction, allowed: RecordCategory[] | 'all', extra: MongoQuery = {}) => {
    if (allowed === 'all') return;
    builder.cannot(action, 'MedicalRecord', { ...extra, category: { $nin: allowed } }).because(reason);
  };
  limit('read', granted.recordCategories('read'));
  // Writing a new record needs create for its category; amending one (the record exists) needs update.
  limit('write', granted.recordCategories('create'), { recordId: { $exists: false } });
  limit('write', granted.recordCategories('amend'), { recordId: { $exists: true } });
}

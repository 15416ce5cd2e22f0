import { parseInstant } from '../lib/time';
import { OWN_ORGANIZATION_WRITE_PURPOSE, ROLE_PERMISSIONS } from './rbac';
import type {
  AccessDecisionResult,
  AccessInput,
  AccessReasonCode,
  ConsentGrantee,
  PolicyConsent,
} from './types';
import { CONSENT_ACTIONS, PURPOSES, RECORD_CATEGORIES, ROLES, isOneOf } from './vocabulary';

/**
 * The access policy, defined once. Pure and deterministic: the API (through CASL) and the chaincode
 * (in CheckAccess and on writes) call this same function, so they cannot drift apart.
 *
 * Order of evaluation, deny by default:
 * 1. the patient has full access to their own records;
 * 2. the actor's role must allow the action at all (RBAC table), and the purpose;
 * 3. a consent grants when it is ACTIVE, `now` is in [validFrom, validUntil), it names the actor
 *    (user id, organization, role, attributes: all given fields must match), and covers the action,
 *    the purpose and the record (by id or by category);
 * 4. DOCTOR, NURSE and LAB staff may WRITE with purpose TREATMENT for patients of their own
 *    organization without a consent (see `RolePermissions.ownOrganizationWrite`);
 * 5. DOCTOR and NURSE holding an active emergency grant for the patient get EMERGENCY for READ with
 *    purpose EMERGENCY (break-glass); no other role, action or purpose ever does.
 * Otherwise DENIED, with the reason of the consent that came closest to granting.
 */
export function decideAccess(input: AccessInput): AccessDecisionResult {
  const problem = findInvalidInput(input);
  if (problem) return deny('INVALID_INPUT', problem);
  const now = parseInstant(input.now) as number;
  const { actor, resource, action, purpose } = input;
  const permissions = ROLE_PERMISSIONS[actor.role];

  if (actor.role === 'PATIENT' && actor.id === resource.patientId && permissions.ownRecordActions.includes(action)) {
    return allow('GRANTED', 'PATIENT_SELF', `patient ${actor.id} has full access to their own records`);
  }

  const breakGlassRequest = action === 'READ' && purpose === 'EMERGENCY' && permissions.breakGlass;
  const ownOrganizationWriteRole = action === 'WRITE' && permissions.ownOrganizationWrite;
  if (!permissions.consentActions.includes(action) && !ownOrganizationWriteRole && !breakGlassRequest) {
    return deny(
      'ROLE_NOT_PERMITTED',
      actor.role === 'PATIENT'
        ? `a PATIENT may only access their own records, not those of patient ${resource.patientId}`
        : `role ${actor.role} may not ${action} patient records`,
    );
  }

  const emergency = input.emergency;
  const emergencyForThisRequest =
    emergency && emergency.actorId === actor.id && emergency.patientId === resource.patientId ? emergency : undefined;
  if (purpose === 'EMERGENCY' && emergencyForThisRequest && !permissions.breakGlass) {
    return deny('BREAK_GLASS_NOT_PERMITTED', `role ${actor.role} may not use break-glass access`);
  }
  if (!permissions.purposes.includes(purpose) && !breakGlassRequest) {
    return deny('PURPOSE_NOT_PERMITTED', `role ${actor.role} may not act for purpose ${purpose}`);
  }

  let closest: ConsentMiss | undefined;
  for (const consent of input.consents) {
    const miss = evaluateConsent(consent, input, now);
    if (!miss) {
      return {
        ...allow('GRANTED', 'CONSENT', `consent ${consent.id} grants ${action} for ${purpose}`),
        consentId: consent.id,
      };
    }
    if (!closest || miss.rank > closest.rank) closest = miss;
  }

  if (
    ownOrganizationWriteRole &&
    purpose === OWN_ORGANIZATION_WRITE_PURPOSE &&
    actor.organizationId === resource.patientOrganizationId
  ) {
    return allow(
      'GRANTED',
      'OWN_ORGANIZATION_WRITE',
      `${actor.role} of organization ${actor.organizationId} may write records for its patients for ${purpose}`,
    );
  }

  let emergencyMiss: AccessDecisionResult | undefined;
  if (breakGlassRequest && emergencyForThisRequest) {
    const grantedAt = parseInstant(emergencyForThisRequest.grantedAt) as number;
    const expiresAt = parseInstant(emergencyForThisRequest.expiresAt) as number;
    if (now >= grantedAt && now < expiresAt) {
      return {
        ...allow(
          'EMERGENCY',
          'BREAK_GLASS',
          `break-glass access ${emergencyForThisRequest.id} is active until ${emergencyForThisRequest.expiresAt}`,
        ),
        emergencyAccessId: emergencyForThisRequest.id,
      };
    }
    emergencyMiss = deny(
      'EMERGENCY_NOT_ACTIVE',
      now < grantedAt
        ? `break-glass access ${emergencyForThisRequest.id} starts at ${emergencyForThisRequest.grantedAt}`
        : `break-glass access ${emergencyForThisRequest.id} expired at ${emergencyForThisRequest.expiresAt}`,
    );
  }

  if (closest && closest.rank > NOT_NAMED) return deny(closest.code, closest.reason);
  if (emergencyMiss) return emergencyMiss;
  const grantee = `user ${actor.id}, organization ${actor.organizationId} or role ${actor.role}`;
  return deny(
    'NO_CONSENT',
    action === 'WRITE' && purpose === 'EMERGENCY' && emergencyForThisRequest
      ? `break-glass covers READ only, and no consent of patient ${resource.patientId} grants WRITE to ${grantee}`
      : `no consent of patient ${resource.patientId} names ${grantee}`,
  );
}

/** Does a grantee description name this actor? Every given field must match; an empty grantee names no one. */
export function granteeMatches(grantee: ConsentGrantee, actor: AccessInput['actor']): boolean {
  if (grantee.userId === undefined && grantee.organizationId === undefined && grantee.role === undefined) return false;
  if (grantee.userId !== undefined && grantee.userId !== actor.id) return false;
  if (grantee.organizationId !== undefined && grantee.organizationId !== actor.organizationId) return false;
  if (grantee.role !== undefined && grantee.role !== actor.role) return false;
  for (const [name, value] of Object.entries(grantee.attributes ?? {})) {
    if (actor.attributes?.[name] !== value) return false;
  }
  return true;
}

const NOT_NAMED = 0;

interface ConsentMiss {
  /** How far the consent got before failing: a higher rank is a more useful denial reason. */
  readonly rank: number;
  readonly code: AccessReasonCode;
  readonly reason: string;
}

function evaluateConsent(consent: PolicyConsent, input: AccessInput, now: number): ConsentMiss | undefined {
  const { actor, resource, action, purpose } = input;
  if (consent.patientId !== resource.patientId || !granteeMatches(consent.grantee, actor)) {
    return { rank: NOT_NAMED, code: 'NO_CONSENT', reason: `consent ${consent.id} does not name this actor` };
  }
  if (consent.status !== 'ACTIVE') {
    return { rank: 1, code: 'CONSENT_REVOKED', reason: `consent ${consent.id} is revoked` };
  }
  if (now < (parseInstant(consent.validFrom) as number)) {
    return { rank: 2, code: 'CONSENT_NOT_YET_VALID', reason: `consent ${consent.id} is valid from ${consent.validFrom}` };
  }
  if (now >= (parseInstant(consent.validUntil) as number)) {
    return { rank: 2, code: 'CONSENT_EXPIRED', reason: `consent ${consent.id} expired at ${consent.validUntil}` };
  }
  if (!consent.actions.includes(action)) {
    return { rank: 3, code: 'CONSENT_ACTION_MISMATCH', reason: `consent ${consent.id} does not allow ${action}` };
  }
  if (!consent.purposes.includes(purpose)) {
    return { rank: 4, code: 'CONSENT_PURPOSE_MISMATCH', reason: `consent ${consent.id} does not cover purpose ${purpose}` };
  }
  const coversRecord = resource.recordId !== undefined && consent.scope.recordIds.includes(resource.recordId);
  if (!coversRecord && !consent.scope.categories.includes(resource.category)) {
    return {
      rank: 5,
      code: 'CONSENT_SCOPE_MISMATCH',
      reason: `consent ${consent.id} covers neither ${resource.recordId ? `record ${resource.recordId} nor ` : ''}category ${resource.category}`,
    };
  }
  return undefined;
}

function findInvalidInput(input: AccessInput): string | undefined {
  if (!isOneOf(ROLES, input.actor?.role)) return `unknown role ${String(input.actor?.role)}`;
  if (!isOneOf(CONSENT_ACTIONS, input.action)) return `unknown action ${String(input.action)}`;
  if (!isOneOf(PURPOSES, input.purpose)) return `unknown purpose ${String(input.purpose)}`;
  if (!isOneOf(RECORD_CATEGORIES, input.resource?.category)) return `unknown category ${String(input.resource?.category)}`;
  if (parseInstant(input.now) === undefined) return `now is not an ISO-8601 UTC instant: ${String(input.now)}`;
  if (!Array.isArray(input.consents)) return 'consents must be an array';
  for (const consent of input.consents) {
    if (parseInstant(consent.validFrom) === undefined || parseInstant(consent.validUntil) === undefined) {
      return `consent ${consent.id} has an invalid validity window`;
    }
  }
  const emergency = input.emergency;
  if (emergency && (parseInstant(emergency.grantedAt) === undefined || parseInstant(emergency.expiresAt) === undefined)) {
    return `emergency access ${emergency.id} has an invalid window`;
  }
  return undefined;
}

function allow(decision: 'GRANTED' | 'EMERGENCY', code: AccessReasonCode, reason: string): AccessDecisionResult {
  return { decision, code, reason };
}

function deny(code: AccessReasonCode, reason: string): AccessDecisionResult {
  return { decision: 'DENIED', code, reason };
}

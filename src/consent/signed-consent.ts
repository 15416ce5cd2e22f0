import {
  parseConsentGrantPayload,
  parseConsentRevokePayload,
  type ConsentGrantPayload,
  type PolicyConsent,
} from 'healthledger-chaincode/shared';
import { verifyCanonical } from '../crypto/index.js';
import type { ConsentEntity } from './consent.entities.js';

/**
 * The consent a stored row proves, or undefined when it proves none. A row counts only when its
 * grant payload parses as the ledger parses it, its patient's Ed25519 signature over the canonical
 * payload verifies against `patientSigningKey` (the key registered on the ledger), and its indexed
 * columns say what the payload says. The policy reads the consent from the signed payload, never
 * from the columns: a row written into the database by anyone but the patient grants nothing.
 * A row is REVOKED if its status says so or if it carries a valid signed revocation.
 */
export function honouredConsent(row: ConsentEntity, patientSigningKey: string): PolicyConsent | undefined {
  let payload: ConsentGrantPayload;
  try {
    payload = parseConsentGrantPayload(row.grantPayload);
  } catch {
    return undefined;
  }
  if (!columnsMatchPayload(row, payload)) return undefined;
  if (!verifiesQuietly(payload, row.grantSignature, patientSigningKey)) return undefined;
  return {
    id: payload.consentId,
    patientId: payload.patientId,
    grantee: payload.grantee,
    scope: payload.scope,
    actions: payload.actions,
    purposes: payload.purposes,
    validFrom: payload.validFrom,
    validUntil: payload.validUntil,
    status: row.status === 'REVOKED' || hasValidRevocation(row, patientSigningKey) ? 'REVOKED' : 'ACTIVE',
  };
}

function hasValidRevocation(row: ConsentEntity, patientSigningKey: string): boolean {
  if (!row.revokePayload || !row.revokeSignature) return false;
  try {
    const revocation = parseConsentRevokePayload(row.revokePayload);
    return (
      revocation.consentId === row.id &&
      revocation.patientId === row.patientId &&
      verifiesQuietly(revocation, row.revokeSignature, patientSigningKey)
    );
  } catch {
    return false;
  }
}

function columnsMatchPayload(row: ConsentEntity, payload: ConsentGrantPayload): boolean {
  const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((item, index) => item === b[index]);
  return (
    payload.consentId === row.id &&
    payload.patientId === row.patientId &&
    (payload.grantee.userId ?? null) === row.granteeUserId &&
    (payload.grantee.organizationId ?? null) === row.granteeOrganizationId &&
    sameList(payload.scope.recordIds, row.recordIds ?? []) &&
    sameList(payload.scope.categories, row.categories ?? []) &&
    sameList(payload.actions, row.actions ?? []) &&
    sameList(payload.purposes, row.purposes ?? []) &&
    Date.parse(payload.validFrom) === new Date(row.validFrom).getTime() &&
    Date.parse(payload.validUntil) === new Date(row.validUntil).getTime()
  );
}

/** A malformed key or signature is a failed verification here: the row is simply not honoured. */
function verifiesQuietly(value: unknown, signature: string, publicKey: string): boolean {
  try {
    return verifyCanonical(value, signature, publicKey);
  } catch {
    return false;
  }
}

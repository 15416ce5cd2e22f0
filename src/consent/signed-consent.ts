import {
  parseConsentGrantPayload,
  parseConsentRevokePayload,
  type ConsentGrantPayload,
  type PolicyConsent,
} from 'healthledger-chaincode/shared';
import { createHash } from 'node:crypto';
import { canonicalJson } from 'healthledger-chaincode/shared';
import { BoundedMap } from '../cache/bounded-map.js';
import { verifyCanonical } from '../crypto/index.js';
import type { ConsentEntity } from './consent.entities.js';

/** Outcomes of signature checks already made, by digest of (key, signature, canonical message). */
const VERIFICATIONS_MAX_ENTRIES = 20_000;
const verifications = new BoundedMap<string, boolean>(VERIFICATIONS_MAX_ENTRIES);

/**
 * The consent a stored row proves, or undefined when it proves none. A row counts only when its
 * grant payload parses as the ledger parses it, its patient's Ed25519 signature over the canonical
 * payload verifies against `patientSigningKey` (the key registered on the ledger), and its indexed
 * columns say what the payload says. The policy reads the consent from the signed payload, never
 * from the columns: a row written into the database by anyone but the patient grants nothing.
 * A row is REVOKED if the ledger says so (`revokedOnLedger`: the node's ledger-derived set, which no
 * database write can shrink), if it carries a valid signed revocation, or if its status says so (a
 * row can only take access away by itself, never give it back).
 */
export function honouredConsent(row: ConsentEntity, patientSigningKey: string, revokedOnLedger = false): PolicyConsent | undefined {
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
    status: revokedOnLedger || row.status === 'REVOKED' || hasValidRevocation(row, patientSigningKey) ? 'REVOKED' : 'ACTIVE',
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

/**
 * A malformed key or signature is a failed verification here: the row is simply not honoured.
 * Every access check reads all of a patient's consents, so outcomes are remembered by a digest of
 * exactly what was checked (a changed byte anywhere is a new check): Ed25519 verification was the
 * per-consent cost that grew with a patient's consent history.
 */
function verifiesQuietly(value: unknown, signature: string, publicKey: string): boolean {
  let message: string;
  try {
    message = canonicalJson(value);
  } catch {
    return false;
  }
  const key = createHash('sha256').update(publicKey).update('\0').update(String(signature)).update('\0').update(message).digest('base64url');
  const known = verifications.get(key);
  if (known !== undefined) return known;
  let valid: boolean;
  try {
    valid = verifyCanonical(value, signature, publicKey);
  } catch {
    valid = false;
  }
  verifications.set(key, valid);
  return valid;
}

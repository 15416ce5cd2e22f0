import {
  parseConsentGrantPayload,
  parseConsentRevokePayload,
  type ConsentGrantPayload,
  type PolicyConsent,
} from 'healthledger-chaincode/shared';
import { createHash } from 'node:crypto';
import { BoundedMap } from '../cache/bounded-map.js';
import { verifyCanonical } from '../crypto/index.js';
import type { ConsentEntity } from './consent.entities.js';

/**
 * Outcomes of `honouredConsent` already computed, by a digest of everything it reads. Every access
 * check reads all of a patient's live consents, and parsing, canonicalizing and verifying each one
 * was the per-check cost that grew with a patient's consents (Ed25519 first, then the strict parsing
 * of every payload). A changed byte anywhere in a row, the key or the ledger's verdict is a new entry.
 */
const OUTCOMES_MAX_ENTRIES = 20_000;
const outcomes = new BoundedMap<string, PolicyConsent | null>(OUTCOMES_MAX_ENTRIES);

export function honouredConsent(row: ConsentEntity, patientSigningKey: string, revokedOnLedger = false): PolicyConsent | undefined {
  const key = outcomeKey(row, patientSigningKey, revokedOnLedger);
  const known = outcomes.get(key);
  if (known !== undefined) return known ?? undefined;
  const outcome = decide(row, patientSigningKey, revokedOnLedger);
  outcomes.set(key, outcome ? deepFreeze(outcome) : null);
  return outcome;
}

/**
 * Everything `decide` reads, serialized (JSON.stringify is exact for strings, arrays and dates, and
 * jsonb columns arrive with their keys in a fixed order), then hashed so that an entry's size does
 * not depend on the row's.
 */
function outcomeKey(row: ConsentEntity, patientSigningKey: string, revokedOnLedger: boolean): string {
  const read = [
    patientSigningKey,
    revokedOnLedger,
    row.id,
    row.patientId,
    row.granteeUserId,
    row.granteeOrganizationId,
    row.recordIds,
    row.categories,
    row.actions,
    row.purposes,
    row.validFrom,
    row.validUntil,
    row.status,
    row.grantPayload,
    row.grantSignature,
    row.revokePayload,
    row.revokeSignature,
  ];
  return createHash('sha256').update(JSON.stringify(read)).digest('base64url');
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

function decide(row: ConsentEntity, patientSigningKey: string, revokedOnLedger: boolean): PolicyConsent | undefined {
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

/** A malformed key or signature is a failed verification here: the row is simply not honoured. */
function verifiesQuietly(value: unknown, signature: string, publicKey: string): boolean {
  try {
    return verifyCanonical(value, signature, publicKey);
  } catch {
    return false;
  }
}

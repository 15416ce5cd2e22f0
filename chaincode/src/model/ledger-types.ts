import type { LEDGER_EVENTS } from '../contracts/names';
import type {
  AccessDecisionResult,
  ConsentAction,
  ConsentGrantee,
  ConsentStatus,
  Purpose,
  RecordCategory,
  Role,
  ServiceAccountRole,
  ServiceAccountStatus,
} from '../policy';

/**
 * The JSON documents the chaincode keeps in world state and returns from its transactions (every
 * result is canonical JSON text of one of these). None holds PHI: ids are opaque UUIDs, content is
 * represented only by SHA-256 hashes, free-text reasons only by their hash.
 */

export interface OrganizationState {
  readonly docType: 'organization';
  readonly id: string;
  readonly name: string;
  /** The MSP whose admin identities manage this organization's users. */
  readonly mspId: string;
  readonly registeredAt: string;
  readonly txId: string;
}

export interface UserState {
  readonly docType: 'user';
  readonly id: string;
  readonly role: Role;
  readonly organizationId: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** X25519 wrapping key, base64url of the raw 32 bytes. */
  readonly wrappingPublicKey: string;
  /** Ed25519 signing key, base64url of the raw 32 bytes: verifies consents and key rotations. */
  readonly signingPublicKey: string;
  /** 1 at registration, +1 per rotation. */
  readonly keyVersion: number;
  readonly registeredAt: string;
  readonly updatedAt: string;
  readonly txId: string;
}

/**
 * A non-human principal of an organization (a lab instrument, a partner's integration) that may
 * author record versions. It holds no keys: it never signs consents and never unwraps a record key
 * (record keys are wrapped with public keys only). An anchor it authors is checked with the shared
 * policy exactly as for a user of the same role and organization; a REVOKED one authors nothing more.
 * Its id is never also a user's id, so an anchor's `authorId` names one principal.
 */
export interface ServiceAccountState {
  readonly docType: 'serviceAccount';
  readonly id: string;
  readonly role: ServiceAccountRole;
  readonly organizationId: string;
  readonly status: ServiceAccountStatus;
  readonly registeredAt: string;
  readonly txId: string;
  readonly revokedAt: string | null;
  readonly revokeTxId: string | null;
}

export interface RecordHeadState {
  readonly docType: 'record';
  readonly recordId: string;
  /** The patient's opaque ledger user id: a pseudonym, never a name or medical record number. */
  readonly patientId: string;
  readonly category: RecordCategory;
  readonly latestVersion: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface RecordAnchorState {
  readonly docType: 'recordAnchor';
  readonly recordId: string;
  readonly version: number;
  readonly patientId: string;
  /** SHA-256 hex of the CID string (not of any plaintext, which would confirm guesses). */
  readonly cidHash: string;
  /** SHA-256 hex of the stored ciphertext. */
  readonly ciphertextHash: string;
  readonly category: RecordCategory;
  /** A registered user's or service account's id. */
  readonly authorId: string;
  /** Which policy rule allowed the author to write: PATIENT_SELF, CONSENT or OWN_ORGANIZATION_WRITE. */
  readonly authorization: AccessDecisionResult['code'];
  readonly consentId: string | null;
  readonly anchoredAt: string;
  readonly txId: string;
}

/** The most anchors records:AnchorRecordVersions takes in one transaction. */
export const MAX_ANCHORS_PER_BATCH = 100;

/** What records:AnchorRecordVersions answers per anchor, in the order given. */
export type AnchorOutcome = { readonly anchor: RecordAnchorState } | { readonly error: { readonly code: string; readonly message: string } };

export const CONSENT_GRANT_TYPE = 'HL_CONSENT_GRANT_V1';
export const CONSENT_REVOKE_TYPE = 'HL_CONSENT_REVOKE_V1';
export const KEY_ROTATION_TYPE = 'HL_KEY_ROTATION_V1';

/**
 * What the patient signs to grant a consent: the Ed25519 signature is over
 * `canonicalJsonBytes(payload)`. `type` separates the signing domains, so a signed grant can never
 * be replayed as a revocation or a key rotation.
 */
export interface ConsentGrantPayload {
  readonly type: typeof CONSENT_GRANT_TYPE;
  readonly consentId: string;
  readonly patientId: string;
  readonly grantee: ConsentGrantee;
  readonly scope: { readonly recordIds: readonly string[]; readonly categories: readonly RecordCategory[] };
  readonly actions: readonly ConsentAction[];
  readonly purposes: readonly Purpose[];
  readonly validFrom: string;
  readonly validUntil: string;
  readonly issuedAt: string;
}

/** What the patient signs to revoke a consent. */
export interface ConsentRevokePayload {
  readonly type: typeof CONSENT_REVOKE_TYPE;
  readonly consentId: string;
  readonly patientId: string;
  readonly issuedAt: string;
}

/** What a user signs with their CURRENT signing key to replace their public keys. */
export interface KeyRotationPayload {
  readonly type: typeof KEY_ROTATION_TYPE;
  readonly userId: string;
  /** Must be the current keyVersion + 1: an old rotation can never be replayed. */
  readonly keyVersion: number;
  readonly wrappingPublicKey: string;
  readonly signingPublicKey: string;
  readonly issuedAt: string;
}

export interface ConsentState {
  readonly docType: 'consent';
  readonly id: string;
  readonly patientId: string;
  /** The payload exactly as signed (re-encode with canonicalJsonBytes to verify `signature`). */
  readonly grant: ConsentGrantPayload;
  readonly signature: string;
  readonly status: ConsentStatus;
  readonly grantedAt: string;
  readonly grantTxId: string;
  readonly revokedAt: string | null;
  readonly revokeTxId: string | null;
  readonly revocation: { readonly payload: ConsentRevokePayload; readonly signature: string } | null;
}

/** One revoked consent, as `consent:GetRevokedConsents` lists it (and a ConsentRevoked event announces it). */
export interface RevokedConsentEntry {
  readonly consentId: string;
  readonly patientId: string;
  readonly revokedAt: string;
  readonly revokeTxId: string;
}

export interface ConsentHistoryEntry {
  readonly txId: string;
  readonly timestamp: string;
  readonly isDelete: boolean;
  readonly consent: ConsentState | null;
}

export interface EmergencyAccessState {
  readonly docType: 'emergencyAccess';
  readonly id: string;
  readonly actorId: string;
  readonly patientId: string;
  /** SHA-256 hex of the free-text reason, which stays off the ledger (tx arguments land in blocks). */
  readonly reasonHash: string;
  readonly grantedAt: string;
  readonly expiresAt: string;
  readonly txId: string;
}

/** CheckAccess result: the policy decision plus the instant it was made for. */
export interface AccessCheckResult extends AccessDecisionResult {
  readonly userId: string;
  readonly recordId: string;
  readonly checkedAt: string;
}

/** previousRoot of the first audit batch. */
export const GENESIS_AUDIT_ROOT = '0'.repeat(64);

export interface AuditBatchState {
  readonly docType: 'auditBatch';
  /** The chain this batch extends (a deployment's: its installation id). */
  readonly chainId: string;
  readonly batchId: string;
  /** 1 for the first batch, +1 per batch: the position in the chain. */
  readonly sequence: number;
  readonly merkleRoot: string;
  /** Number of leaves (access events) in this batch's Merkle tree. */
  readonly treeSize: number;
  readonly previousRoot: string;
  readonly anchoredAt: string;
  readonly mspId: string;
  readonly txId: string;
}

/** The head of the audit chain; before the first batch: sequence 0, the genesis root, nulls. */
export interface AuditHeadState {
  readonly docType: 'auditHead';
  readonly chainId: string;
  readonly batchId: string | null;
  readonly sequence: number;
  readonly merkleRoot: string;
  readonly treeSize: number;
  readonly anchoredAt: string | null;
}

/**
 * The payload (canonical JSON) of each chaincode event, by event name (LEDGER_EVENTS): what
 * `emitEvent` accepts for that name and what a client decodes, so both sides share one definition.
 */
export interface LedgerEventPayloads {
  readonly OrganizationRegistered: { readonly organizationId: string; readonly mspId: string };
  readonly UserRegistered: { readonly userId: string; readonly role: Role; readonly organizationId: string; readonly keyVersion: number };
  readonly UserKeysRotated: { readonly userId: string; readonly keyVersion: number };
  readonly ServiceAccountRegistered: { readonly serviceAccountId: string; readonly role: ServiceAccountRole; readonly organizationId: string };
  readonly ServiceAccountRevoked: { readonly serviceAccountId: string; readonly organizationId: string; readonly revokedAt: string | null };
  readonly RecordAnchored: Pick<
    RecordAnchorState,
    'recordId' | 'version' | 'patientId' | 'cidHash' | 'ciphertextHash' | 'category' | 'authorId' | 'anchoredAt'
  >;
  readonly RecordVersionsAnchored: { readonly anchors: ReadonlyArray<LedgerEventPayloads['RecordAnchored']> };
  readonly ConsentGranted: Pick<ConsentGrantPayload, 'consentId' | 'patientId' | 'grantee' | 'validFrom' | 'validUntil'>;
  readonly ConsentRevoked: { readonly consentId: string; readonly patientId: string; readonly revokedAt: string };
  readonly EmergencyAccessRecorded: {
    readonly emergencyAccessId: string;
    readonly actorId: string;
    readonly patientId: string;
    readonly expiresAt: string;
  };
  readonly AuditBatchAnchored: Pick<AuditBatchState, 'chainId' | 'batchId' | 'sequence' | 'merkleRoot' | 'previousRoot' | 'treeSize'>;
}

export type LedgerEventName = keyof LedgerEventPayloads;

/** Compile-time check: every name in LEDGER_EVENTS has a payload type here, and nothing more. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const EVENT_PAYLOADS_MATCH_NAMES: Same<LedgerEventName, (typeof LEDGER_EVENTS)[keyof typeof LEDGER_EVENTS]> = true;
void EVENT_PAYLOADS_MATCH_NAMES;

import { Inject, Injectable } from '@nestjs/common';
import {
  CONTRACT_NAMES,
  type AnchorOutcome,
  type AuditBatchState,
  type AuditHeadState,
  type ConsentGrantPayload,
  type ConsentRevokePayload,
  type ConsentState,
  type EmergencyAccessState,
  type LedgerEventName,
  type LedgerEventPayloads,
  type OrganizationState,
  type Role,
  type RecordAnchorState,
  type RevokedConsentEntry,
  type ServiceAccountState,
  type UserState,
} from 'healthledger-chaincode/shared';
import { LEDGER } from './ledger.token.js';
import type { LedgerPort, LedgerStatus, SubmitOptions } from './ports/ledger.port.js';

export type { LedgerStatus } from './ports/ledger.port.js';

/** A committed transaction's decoded result, with where it was committed. */
export interface Committed<T> {
  readonly value: T;
  readonly txId: string;
  readonly blockNumber: number;
}

/** identity:RegisterOrganization. */
export type OrganizationRegistration = Pick<OrganizationState, 'id' | 'name'>;

/** identity:RegisterUser: public keys as base64url of the raw 32 bytes. */
export type UserRegistration = Pick<UserState, 'id' | 'role' | 'organizationId' | 'attributes' | 'wrappingPublicKey' | 'signingPublicKey'>;

/**
 * identity:RegisterServiceAccount. Any role, as the app's tables hold it: the ledger itself refuses
 * (BAD_USER_INPUT) one a service account cannot have.
 */
export type ServiceAccountRegistration = Pick<ServiceAccountState, 'id' | 'organizationId'> & { readonly role: Role };

/**
 * One anchor of records:AnchorRecordVersions: the hashes of one version, never content. `purpose` as the app's
 * tables hold it (the ledger refuses anything but a Purpose, and defaults to TREATMENT).
 */
export type RecordAnchorRequest = Pick<
  RecordAnchorState,
  'recordId' | 'version' | 'patientId' | 'cidHash' | 'ciphertextHash' | 'category' | 'authorId'
> & { readonly purpose?: string };

/** consent:RecordEmergencyAccess: `reasonHash` is the SHA-256 hex of the reason, which stays off the ledger. */
export type EmergencyAccessRequest = Pick<EmergencyAccessState, 'id' | 'actorId' | 'patientId' | 'reasonHash' | 'expiresAt'>;

/**
 * audit:AnchorAuditBatch: hex SHA-256 roots; `previousRoot` must be the latest root of the chain
 * `chainId` (a deployment's own chain: its installation id).
 */
export type AuditBatchAnchor = Pick<AuditBatchState, 'chainId' | 'batchId' | 'merkleRoot' | 'treeSize' | 'previousRoot'>;

/** A chaincode event of a committed transaction, its payload decoded by name. */
export type ChaincodeEvent = {
  [N in LedgerEventName]: { readonly name: N; readonly payload: LedgerEventPayloads[N]; readonly blockNumber: number; readonly txId: string };
}[LedgerEventName];

/**
 * The app's one way to call the chaincode: one method per transaction it uses, with the argument
 * encoding and the result decoding (canonical JSON text into the chaincode package's types) done
 * here. Failures are the port's LedgerErrors, whose codes are the chaincode's (NOT_FOUND,
 * CONFLICT, FORBIDDEN...) or LEDGER_UNAVAILABLE, passed through unchanged.
 */
@Injectable()
export class ChaincodeClient {
  constructor(@Inject(LEDGER) private readonly ledger: LedgerPort) {}

  // identity

  registerOrganization(organization: OrganizationRegistration): Promise<Committed<OrganizationState>> {
    return this.submit(CONTRACT_NAMES.identity, 'RegisterOrganization', [JSON.stringify({ id: organization.id, name: organization.name })]);
  }

  /** NOT_FOUND when the ledger knows no such organization. */
  organization(organizationId: string): Promise<OrganizationState> {
    return this.evaluate(CONTRACT_NAMES.identity, 'GetOrganization', [organizationId]);
  }

  registerUser(user: UserRegistration): Promise<Committed<UserState>> {
    const { id, role, organizationId, attributes, wrappingPublicKey, signingPublicKey } = user;
    return this.submit(CONTRACT_NAMES.identity, 'RegisterUser', [
      JSON.stringify({ id, role, organizationId, attributes, wrappingPublicKey, signingPublicKey }),
    ]);
  }

  /** NOT_FOUND when the ledger knows no such user. */
  user(userId: string): Promise<UserState> {
    return this.evaluate(CONTRACT_NAMES.identity, 'GetUser', [userId]);
  }

  registerServiceAccount(account: ServiceAccountRegistration): Promise<Committed<ServiceAccountState>> {
    return this.submit(CONTRACT_NAMES.identity, 'RegisterServiceAccount', [
      JSON.stringify({ id: account.id, role: account.role, organizationId: account.organizationId }),
    ]);
  }

  revokeServiceAccount(serviceAccountId: string): Promise<Committed<ServiceAccountState>> {
    return this.submit(CONTRACT_NAMES.identity, 'RevokeServiceAccount', [serviceAccountId]);
  }

  // records

  /**
   * records:AnchorRecordVersions: several versions (at most one per record, at most
   * MAX_ANCHORS_PER_BATCH) in one transaction, each decided on its own: an outcome per anchor, in order.
   */
  anchorRecordVersions(anchors: readonly RecordAnchorRequest[]): Promise<Committed<AnchorOutcome[]>> {
    return this.submit(CONTRACT_NAMES.records, 'AnchorRecordVersions', [
      JSON.stringify(
        anchors.map(({ recordId, version, patientId, cidHash, ciphertextHash, category, authorId, purpose }) => ({
          recordId,
          version,
          patientId,
          cidHash,
          ciphertextHash,
          category,
          authorId,
          purpose,
        })),
      ),
    ]);
  }

  /** The anchor of one version, or of the latest; NOT_FOUND when there is none. */
  recordAnchor(recordId: string, version: number | 'latest'): Promise<RecordAnchorState> {
    return this.evaluate(CONTRACT_NAMES.records, 'GetRecordAnchor', [recordId, version === 'latest' ? '' : String(version)]);
  }

  // consent

  /** `signature`: the patient's base64url Ed25519 signature over canonicalJsonBytes(payload). */
  grantConsent(payload: ConsentGrantPayload, signature: string, options?: SubmitOptions): Promise<Committed<ConsentState>> {
    return this.submit(CONTRACT_NAMES.consent, 'GrantConsent', [JSON.stringify(payload), signature], options);
  }

  /** `signature` as for a grant. Revoking a revoked consent answers it unchanged. */
  revokeConsent(payload: ConsentRevokePayload, signature: string): Promise<Committed<ConsentState>> {
    return this.submit(CONTRACT_NAMES.consent, 'RevokeConsent', [JSON.stringify(payload), signature]);
  }

  /** The consent as the ledger holds it; NOT_FOUND when no grant of that id committed. */
  consent(consentId: string): Promise<ConsentState> {
    return this.evaluate(CONTRACT_NAMES.consent, 'GetConsent', [consentId]);
  }

  /** Every revoked consent on the channel. */
  revokedConsents(): Promise<RevokedConsentEntry[]> {
    return this.evaluate(CONTRACT_NAMES.consent, 'GetRevokedConsents', []);
  }

  recordEmergencyAccess(request: EmergencyAccessRequest): Promise<Committed<EmergencyAccessState>> {
    const { id, actorId, patientId, reasonHash, expiresAt } = request;
    return this.submit(CONTRACT_NAMES.consent, 'RecordEmergencyAccess', [JSON.stringify({ id, actorId, patientId, reasonHash, expiresAt })]);
  }

  /** The patient's break-glass records, of every actor, expired ones included. */
  patientEmergencyAccesses(patientId: string): Promise<EmergencyAccessState[]> {
    return this.evaluate(CONTRACT_NAMES.consent, 'GetPatientEmergencyAccesses', [patientId]);
  }

  // audit

  anchorAuditBatch(batch: AuditBatchAnchor): Promise<Committed<AuditBatchState>> {
    return this.submit(CONTRACT_NAMES.audit, 'AnchorAuditBatch', [
      batch.chainId,
      batch.batchId,
      batch.merkleRoot,
      String(batch.treeSize),
      batch.previousRoot,
    ]);
  }

  /** The head of the chain: its latest batch, or the genesis head (sequence 0) before the first. */
  latestAuditRoot(chainId: string): Promise<AuditHeadState> {
    return this.evaluate(CONTRACT_NAMES.audit, 'GetLatestAuditRoot', [chainId]);
  }

  /** NOT_FOUND when the batch is not anchored. */
  auditBatch(batchId: string): Promise<AuditBatchState> {
    return this.evaluate(CONTRACT_NAMES.audit, 'GetAuditBatch', [batchId]);
  }

  // the ledger itself

  /** Chaincode events from `fromBlock` on, then live ones until the ledger stops; payloads decoded. */
  async *events(fromBlock: number): AsyncIterable<ChaincodeEvent> {
    for await (const event of this.ledger.events(fromBlock)) {
      yield {
        name: event.eventName as LedgerEventName,
        payload: decode(event.payload),
        blockNumber: event.blockNumber,
        txId: event.txId,
      } as ChaincodeEvent;
    }
  }

  status(): Promise<LedgerStatus> {
    return this.ledger.status();
  }

  private async submit<T>(contract: string, transaction: string, args: string[], options?: SubmitOptions): Promise<Committed<T>> {
    const { result, txId, blockNumber } = await this.ledger.submit(`${contract}:${transaction}`, args, options);
    return { value: decode<T>(result), txId, blockNumber };
  }

  private async evaluate<T>(contract: string, transaction: string, args: string[]): Promise<T> {
    return decode<T>(await this.ledger.evaluate(`${contract}:${transaction}`, args));
  }
}

/** Every transaction result and event payload is the canonical JSON text of a chaincode type. */
function decode<T>(bytes: Buffer): T {
  return JSON.parse(bytes.toString('utf8')) as T;
}

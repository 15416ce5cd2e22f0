import { Injectable, Logger } from '@nestjs/common';
import type { EmergencyAccessState, PolicyConsent, PolicyEmergencyGrant } from 'healthledger-chaincode/shared';
import type { PatientGrants } from '../access/ability.factory.js';
import type { ConsentSource } from '../access/consent-source.js';
import { BoundedMap } from '../cache/bounded-map.js';
import type { WorkContext } from '../common/request-context.js';
import { ChaincodeClient } from '../ledger/chaincode-client.js';
import { LedgerUnavailableError } from '../ledger/ledger.errors.js';
import type { RecipientRef, RecordKeyRecipientsPort, RecordKeyScope } from '../records/record-keys.js';
import type { ConsentEntity } from './consent.entities.js';
import { ConsentRepository } from './consent.repository.js';
import { EmergencyAccessRepository } from './emergency-access.repository.js';
import { LedgerRevocations, type KnownRevocation } from './ledger-revocations.js';
import { honouredConsent } from './signed-consent.js';

/** How long a patient's registered signing key is reused before it is read from the ledger again. */
const SIGNING_KEY_TTL_MS = 60_000;
/** How long past that a key read from the ledger still serves while the ledger cannot be reached. */
const SIGNING_KEY_OUTAGE_MS = 10 * 60_000;
const MAX_CACHED_SIGNING_KEYS = 10_000;
/** Patients whose last answer about break-glass accesses is kept, for checks while the ledger cannot answer. */
const MAX_KNOWN_EMERGENCY_ACCESSES = 10_000;

export interface HonouredConsent {
  readonly row: ConsentEntity;
  readonly consent: PolicyConsent;
  /** Known from the ledger (or a signature this node verified): the row's own revocation columns may be gone. */
  readonly revocation: KnownRevocation | undefined;
}

/**
 * The consents the database holds that the patient provably signed (see `honouredConsent`), checked
 * against the signing key registered on the ledger rather than the copy in the users table, so
 * neither a forged consent row nor a swapped public key in the database counts; revoked wherever the
 * ledger says so (LedgerRevocations), so no edited or restored row brings one back. Serves the access
 * policy (ConsentSource: consents from here, break-glass grants from the ledger, where only a
 * DOCTOR/NURSE of the right organization can record one) and key wrapping for new record versions
 * (RecordKeyRecipientsPort).
 *
 * While the ledger cannot be reached, access checks go on from what this node last read from it, where a
 * stale copy cannot grant what the ledger would refuse: break-glass accesses are only ever added on the
 * ledger, never withdrawn, and each expires at its own time (which the policy checks), so an older answer
 * can only lack a grant made since (refused until the ledger is back); revocations come from
 * LedgerRevocations, which never shrinks; a patient's signing key read within the last minutes keeps
 * verifying their consents (a key replaced meanwhile is read when the ledger returns).
 */
@Injectable()
export class VerifiedConsents implements ConsentSource, RecordKeyRecipientsPort {
  private readonly signingKeys = new BoundedMap<string, { key: string | undefined; until: number }>(MAX_CACHED_SIGNING_KEYS);
  /** Each patient's break-glass accesses as the ledger last answered (see the class comment). */
  private readonly knownEmergencyAccesses = new BoundedMap<string, EmergencyAccessState[]>(MAX_KNOWN_EMERGENCY_ACCESSES);
  private readonly logger = new Logger('VerifiedConsents');
  private lastOutageLog = 0;

  constructor(
    private readonly consents: ConsentRepository,
    private readonly emergencyAccesses: EmergencyAccessRepository,
    private readonly chaincode: ChaincodeClient,
    private readonly revocations: LedgerRevocations,
  ) {}

  /** Every honoured consent of the patient (any status), oldest first, as the context's transaction (if any) sees them. */
  async honouredFor(ctx: WorkContext, patientId: string): Promise<HonouredConsent[]> {
    return this.honoured(patientId, await this.consents.consentsOf(ctx, patientId));
  }

  /** One consent of the patient, if honoured (a patient's history is not read to show one of its consents). */
  async honouredOne(ctx: WorkContext, patientId: string, consentId: string): Promise<HonouredConsent | undefined> {
    const row = await this.consents.consentOf(ctx, patientId, consentId);
    return row ? this.honouredRow(patientId, row) : undefined;
  }

  /** A consent row as `honouredOne` would read it back, verified the same way (a grant's answer, without reading it again). */
  async honouredRow(patientId: string, row: ConsentEntity): Promise<HonouredConsent | undefined> {
    return (await this.honoured(patientId, [row]))[0];
  }

  /**
   * The consents an access decision or a key wrap needs, oldest first: those whose row is ACTIVE and
   * not past validUntil (each still verified and checked against the ledger's revocations), plus the
   * patient's most recent others, which name the reason of a refusal (CONSENT_REVOKED, ...). A
   * patient's history of revoked and expired consents would otherwise be read, verified and evaluated
   * on every check. Filtering on the row is safe: a row can hide a consent (take access away), never
   * make one count that its signature and the ledger do not back.
   */
  async liveFor(ctx: WorkContext, patientId: string): Promise<HonouredConsent[]> {
    return this.honoured(patientId, await this.consents.liveAndRecentOf(ctx, patientId));
  }

  private async honoured(patientId: string, rows: readonly ConsentEntity[]): Promise<HonouredConsent[]> {
    if (rows.length === 0) return [];
    const key = await this.signingKeyOf(patientId);
    if (!key) return [];
    return rows.flatMap((row) => {
      const revocation = this.revocations.get(row.id);
      const consent = honouredConsent(row, key, revocation !== undefined);
      return consent ? [{ row, consent, revocation }] : [];
    });
  }

  /** Whether the ledger (or a signature this node verified) says this consent is revoked: a cached grant that names it is stale. */
  isRevoked(consentId: string): boolean {
    return this.revocations.has(consentId);
  }

  async grantsFor(ctx: WorkContext, patientId: string, actorId: string): Promise<PatientGrants> {
    const [honoured, emergencies] = await Promise.all([this.liveFor(ctx, patientId), this.emergencyGrants(patientId, actorId)]);
    return { consents: honoured.map(({ consent }) => consent), emergencies };
  }

  /**
   * From the database's copy of the ledger's break-glass accesses: this only words a refusal
   * (PURPOSE_REQUIRED); no decision rests on it (grantsFor reads the ledger).
   */
  holdsEmergencyAccess(ctx: WorkContext, actorId: string, now: Date): Promise<boolean> {
    return this.emergencyAccesses.heldBy(ctx, actorId, now);
  }

  /**
   * The consents that decide whom the patient's data keys are wrapped for, verified: ACTIVE and PENDING
   * (a grant the ledger is committing, whose wraps are written meanwhile: a key wrapped for it is
   * stripped again if the ledger refuses it), not past validUntil, each still checked against the
   * ledger's revocations. Never read by an access decision (`liveFor`): a PENDING consent grants nothing.
   */
  async keyHoldingFor(ctx: WorkContext, patientId: string): Promise<HonouredConsent[]> {
    return this.honoured(patientId, await this.consents.keyHoldingOf(ctx, patientId));
  }

  /**
   * Holders of an ACTIVE or PENDING consent not yet expired (a not-yet-valid one included: the policy, not the
   * key, holds it back until validFrom) that covers the record by id or category. Read in the
   * transaction `ctx` carries, after its record lock (see record-keys.ts), under the shared lock on the
   * patient's consents: a grant in progress (a new record is not under its record locks) commits first.
   */
  async consentRecipientsFor(ctx: WorkContext, scope: RecordKeyScope): Promise<readonly RecipientRef[]> {
    await this.consents.lockPatientConsents(ctx, scope.patientId, 'shared');
    const now = Date.now();
    const recipients = new Map<string, RecipientRef>();
    for (const { consent } of await this.keyHoldingFor(ctx, scope.patientId)) {
      if (consent.status !== 'ACTIVE' || Date.parse(consent.validUntil) <= now) continue;
      if (!consent.scope.recordIds.includes(scope.recordId) && !consent.scope.categories.includes(scope.category)) continue;
      const recipient = consentRecipient(consent);
      if (recipient) recipients.set(`${recipient.kind}:${recipient.id}`, recipient);
    }
    return [...recipients.values()];
  }

  /** The patient's Ed25519 key as registered on the ledger; undefined if the ledger knows no such user. */
  async signingKeyOf(patientId: string): Promise<string | undefined> {
    const cached = this.signingKeys.get(patientId);
    if (cached && cached.until > Date.now()) return cached.key;
    let key: string | undefined;
    try {
      const user = await this.chaincode.user(patientId);
      key = user.role === 'PATIENT' ? user.signingPublicKey : undefined;
    } catch (error) {
      if (error instanceof LedgerUnavailableError && cached && cached.until + SIGNING_KEY_OUTAGE_MS > Date.now()) {
        this.noteOutage(error);
        return cached.key;
      }
      if ((error as { code?: unknown }).code !== 'NOT_FOUND') throw error;
    }
    this.signingKeys.set(patientId, { key, until: Date.now() + SIGNING_KEY_TTL_MS });
    return key;
  }

  private async emergencyGrants(patientId: string, actorId: string): Promise<PolicyEmergencyGrant[]> {
    let accesses: EmergencyAccessState[];
    try {
      accesses = await this.chaincode.patientEmergencyAccesses(patientId);
      this.knownEmergencyAccesses.set(patientId, accesses);
    } catch (error) {
      if (!(error instanceof LedgerUnavailableError)) throw error;
      // The last answer, or none: consents alone decide (see the class comment).
      this.noteOutage(error);
      accesses = this.knownEmergencyAccesses.get(patientId) ?? [];
    }
    return accesses
      .filter((access) => access.actorId === actorId)
      .map((access) => ({ id: access.id, actorId: access.actorId, patientId: access.patientId, grantedAt: access.grantedAt, expiresAt: access.expiresAt }));
  }

  /** Once a minute at most: every check during an outage passes here. */
  private noteOutage(error: Error): void {
    if (Date.now() - this.lastOutageLog < 60_000) return;
    this.lastOutageLog = Date.now();
    this.logger.warn(`the ledger cannot be reached (${error.message}): access checks use what this node last read from it`);
  }
}

/** Whose key a consent's wraps are addressed to: the named user, else the named organization. */
export function consentRecipient(consent: Pick<PolicyConsent, 'grantee'>): RecipientRef | undefined {
  if (consent.grantee.userId) return { kind: 'user', id: consent.grantee.userId };
  if (consent.grantee.organizationId) return { kind: 'organization', id: consent.grantee.organizationId };
  return undefined;
}

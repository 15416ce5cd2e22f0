import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import {
  CONSENT_GRANT_TYPE,
  CONSENT_REVOKE_TYPE,
  ROLE_PERMISSIONS,
  parseConsentGrantPayload,
  parseConsentRevokePayload,
  type ConsentAction,
  type ConsentGrantPayload,
  type ConsentState,
  type PolicyConsent,
  type Purpose,
  type RecordCategory,
} from 'healthledger-chaincode/shared';
import { AccessService, accessDenied, requireActor } from '../access/access.service.js';
import type { Organization } from '../auth/models/organization.model.js';
import { PartyDirectory, type Party } from '../auth/party-directory.js';
import type { PrivateKeyBundle } from '../auth/key-custody.js';
import { SessionKeys } from '../auth/session-keys.js';
import { DomainError } from '../common/domain-error.js';
import { isUuid } from '../common/input-rules.js';
import type { RequestContext, SystemContext, UserActor, WorkContext } from '../common/request-context.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import { signCanonical } from '../crypto/index.js';
import { ChaincodeClient } from '../ledger/chaincode-client.js';
import { LedgerError, LedgerInternalError, LedgerNotFoundError, LedgerUnavailableError } from '../ledger/ledger.errors.js';
import { RecordKeyService } from '../records/record-key.service.js';
import type { RecipientRef, RecordVersionRef, WrapDeletionScope } from '../records/record-keys.js';
import { ConsentEntity, type KeyRotationEntity } from './consent.entities.js';
import { ConsentRepository } from './consent.repository.js';
import { ConsentParties, partyOf, type ConsentEvent } from './consent-parties.js';
import { KeyRotationJob } from './key-rotation.job.js';
import { KeyRotationRepository } from './key-rotation.repository.js';
import { LedgerRevocations } from './ledger-revocations.js';
import type { ConsentStatusValue } from './models/consent-enums.js';
import type { Consent } from './models/consent.model.js';
import { VerifiedConsents, consentRecipient, type HonouredConsent } from './verified-consents.js';

/** The parties a consent names (the patient, a grantee user or organization), as the API shows them. */
interface ConsentPartiesOf {
  readonly users: ReadonlyMap<string, Party>;
  readonly organizations: ReadonlyMap<string, Organization>;
}

interface ResolvedGrantee {
  readonly grantee: ConsentGrantPayload['grantee'];
  readonly parties: ConsentPartiesOf;
}

/** A consent without an explicit end lasts this long. */
export const DEFAULT_CONSENT_DAYS = 90;
const DAY_MS = 86_400_000;

export interface GrantConsentRequest {
  granteeId?: string | null;
  granteeOrganizationId?: string | null;
  recordIds?: readonly string[] | null;
  categories?: readonly RecordCategory[] | null;
  actions: readonly ConsentAction[];
  purposes: readonly Purpose[];
  validFrom?: Date | null;
  validUntil?: Date | null;
}

/**
 * Consents: granted and revoked by the patient only, in session, because both need the patient's
 * private keys: the Ed25519 key signs the grant or revocation (the ledger verifies it against the
 * patient's registered key), and the X25519 key unwraps the data keys of the records in scope so
 * they can be wrapped for the grantee. Revocation deletes the grantee's wraps at once and queues
 * the re-encryption of those records under new keys.
 */
@Injectable()
export class ConsentService {
  private readonly logger = new Logger('Consent');

  constructor(
    private readonly connection: TransactionalConnection,
    private readonly consentRows: ConsentRepository,
    private readonly rotationQueue: KeyRotationRepository,
    private readonly chaincode: ChaincodeClient,
    private readonly access: AccessService,
    private readonly sessionKeys: SessionKeys,
    private readonly recordKeys: RecordKeyService,
    private readonly verified: VerifiedConsents,
    private readonly parties: ConsentParties,
    private readonly directory: PartyDirectory,
    private readonly rotations: KeyRotationJob,
    private readonly revocations: LedgerRevocations,
  ) {}

  async grantConsent(ctx: RequestContext, input: GrantConsentRequest, options: { accessRequestId?: string } = {}): Promise<Consent> {
    const patient = requirePatient(ctx);
    this.access.assertCan(ctx, 'create', 'Consent', { patientId: patient.id });
    const recordIds = [...new Set(input.recordIds ?? [])];
    // Independent lookups, side by side: the grant's latency is its ledger transaction's plus these.
    // The input's refusal comes first (as it would one after the other), and unsealed keys never outlive a refusal.
    const [checked, unsealed] = await Promise.allSettled([
      Promise.all([this.resolveGrantee(patient, input), this.requireOwnRecords(ctx, patient.id, recordIds)]),
      this.sessionKeys.unseal(ctx),
    ]);
    if (checked.status === 'rejected' || unsealed.status === 'rejected') {
      if (unsealed.status === 'fulfilled') zeroKeys(unsealed.value);
      throw checked.status === 'rejected' ? checked.reason : (unsealed as PromiseRejectedResult).reason;
    }
    const [{ grantee, parties }] = checked.value;
    const keys = unsealed.value;
    try {
      return await this.signAndGrant(ctx, patient, input, grantee, parties, recordIds, keys, options);
    } finally {
      zeroKeys(keys);
    }
  }

  /** The grant once its inputs are checked: signed with the patient's key, committed on the ledger, then the rows and key wraps. */
  private async signAndGrant(
    ctx: RequestContext,
    patient: UserActor,
    input: GrantConsentRequest,
    grantee: ConsentGrantPayload['grantee'],
    parties: ConsentPartiesOf,
    recordIds: string[],
    keys: PrivateKeyBundle,
    options: { accessRequestId?: string },
  ): Promise<Consent> {
    const validFrom = input.validFrom ?? ctx.now;
    const validUntil = input.validUntil ?? new Date(validFrom.getTime() + DEFAULT_CONSENT_DAYS * DAY_MS);
    // The ledger's own parser: what is signed here is exactly what the chaincode will verify.
    const payload = parseConsentGrantPayload({
      type: CONSENT_GRANT_TYPE,
      consentId: randomUUID(),
      patientId: patient.id,
      grantee,
      scope: { recordIds, categories: [...new Set(input.categories ?? [])] },
      actions: [...new Set(input.actions)],
      purposes: [...new Set(input.purposes)],
      validFrom: isoInstant(validFrom, 'validFrom'),
      validUntil: isoInstant(validUntil, 'validUntil'),
      issuedAt: ctx.now.toISOString(),
    });
    if (Date.parse(payload.validUntil) <= ctx.now.getTime()) throw badInput('validUntil must be in the future', 'validUntil');

    const signature = signCanonical(payload, keys.signingPrivateKey);
    keys.signingPrivateKey.fill(0);
    const row = toRow(payload, signature, options.accessRequestId ?? null);
    // The chaincode checks the signed grant first: its refusal leaves nothing written, nothing to undo.
    // Once it has endorsed the grant, the PENDING row and the grantee's wraps are written while the ledger
    // orders and commits it (a block's wait: most of a grant's time), so that once it has committed only
    // the activation is left. Not before the endorsement: on a busy node the writes would queue ahead of
    // other grants' endorsements (bench:cluster). PENDING grants nothing (no access decision reads it); it
    // only makes new record versions wrap for the grantee meanwhile (see writePending).
    let pending: Promise<PromiseSettledResult<void>> | undefined;
    const startWriting = () => (pending ??= settle(this.writePending(ctx, patient, row, keys)));
    const committed = await settle(this.chaincode.grantConsent(payload, signature, { onEndorsed: startWriting }));
    if (committed.status === 'rejected' && !pending) {
      // Refused by the chaincode, or the ledger could not be reached: it cannot commit.
      if (refusedByLedger(committed.reason)) {
        await this.recordSettlement(ctx, row, patient, 'DENIED', 'LEDGER_REFUSED').catch((error: unknown) =>
          this.logger.warn(`the ledger's refusal of consent ${row.id} was not recorded: ${(error as Error).message}`),
        );
      }
      throw committed.reason;
    }
    // Every adapter reports the endorsement (the ledger conformance suite); written after the commit otherwise.
    const written = await startWriting();
    if (written.status === 'rejected') {
      if (committed.status === 'fulfilled') this.logger.error(`consent ${row.id} committed on the ledger (${committed.value.txId}) but not stored: ${(written.reason as Error).message}`);
      throw written.reason;
    }
    if (committed.status === 'rejected') {
      // Invalidated at commit: settled now. Anything else (timed out, no answer) may still have
      // committed: it stays PENDING, and settleStalledGrants asks the ledger later.
      if (refusedByLedger(committed.reason)) {
        await this.refuse(ctx, row, patient, ctx.now).catch((error: unknown) =>
          this.logger.warn(`the refused grant of consent ${row.id} stays pending until it is settled: ${(error as Error).message}`),
        );
      }
      throw committed.reason;
    }
    const { txId } = committed.value;
    if (!(await this.consentRows.activate(ctx, row.id, txId))) throw new DomainError('CONFLICT', `consent ${row.id} was settled while the ledger committed it`);
    await this.access.invalidateForPatientOrLater(patient.id);
    // The answer from what was just written (verified as any read of it would be): a new consent has no
    // revocation and no key rotation yet, and its parties were read with the grantee.
    const honoured = await this.verified.honouredRow(patient.id, { ...row, status: 'ACTIVE', ledgerTxId: txId });
    if (!honoured) throw new DomainError('INTEGRITY_VIOLATION', `consent ${row.id} is not backed by a valid patient signature`);
    const [model] = await this.toModels(ctx, [honoured], { ...parties, rotations: [] });
    return model!;
  }

  /**
   * A grant's PENDING row, the patient's access event (the act the policy allowed; the ledger's refusal
   * would be an event of its own) and the grantee's wraps of every version in scope, in one transaction: the
   * scope's record locks, then the patient's consents exclusively (uploads and rotations read them under
   * a shared lock after their record lock: see ConsentRepository.lockPatientConsents). An upload or
   * rotation that read the consents before holds its lock until it commits, so its version is seen here;
   * one that reads them later sees this consent (PENDING counts for key wrapping) and wraps for the
   * grantee itself. The patient's private key was unsealed before (the caller zeroes it): the session
   * lookup reads on its own connection, which on the embedded database would wait for this one.
   */
  private async writePending(ctx: RequestContext, patient: UserActor, row: ConsentEntity, keys: PrivateKeyBundle): Promise<void> {
    const recipient = consentRecipient(row.grantPayload);
    await this.connection.withTransaction(ctx, async (tx) => {
      await this.lockForGrant(tx, row);
      await this.consentRows.savePending(tx, row);
      // The patient's act, which the policy allowed: the ledger's verdict follows (a refusal is an event of its own).
      await this.parties.record(tx, { action: 'GRANT_CONSENT', decision: 'GRANTED', reason: 'PATIENT_SIGNED', patient });
      if (recipient) {
        const versions = await this.versionsInScope(tx, row.patientId, row.grantPayload.scope);
        await this.recordKeys.extendWraps(tx, { kind: 'user', id: patient.id }, keys.wrappingPrivateKey, versions, [recipient]);
      }
    });
  }

  /**
   * The locks a grant's wraps are added or stripped under, in the one order every side takes them: the
   * records in its scope (when it names a grantee who holds keys), then the patient's consents exclusively.
   */
  private async lockForGrant(tx: WorkContext, row: ConsentEntity): Promise<void> {
    if (consentRecipient(row.grantPayload)) await this.recordKeys.lockRecords(tx, scopeOf(row.patientId, row.grantPayload.scope));
    await this.consentRows.lockPatientConsents(tx, row.patientId, 'exclusive');
  }

  /**
   * The ledger refused a PENDING grant (or, for settleStalledGrants, does not hold it): REFUSED, and the
   * grantee's wraps it added stripped as a revocation strips them (data keys rotated: the wraps were in
   * the database). Under the scope's record locks, then the patient's consents exclusively, as the grant
   * wrote them: an upload that read the consents before has committed its wrap (stripped here), one that
   * reads them later sees the refusal. A refusal is an access event of its own, about `patient`.
   */
  private async refuse(ctx: WorkContext, row: ConsentEntity, patient: ConsentEvent['patient'], now: Date): Promise<void> {
    const recipient = consentRecipient(row.grantPayload);
    await this.connection.withTransaction(ctx, async (tx) => {
      await this.lockForGrant(tx, row);
      if (!(await this.consentRows.markRefused(tx, row.id))) return;
      if (recipient) await this.stripGrantee(tx, row, recipient, now);
      await this.recordSettlement(tx, row, patient, 'DENIED', 'LEDGER_REFUSED');
    });
    void this.rotations.kick();
  }

  /**
   * Grants whose request ended before the ledger answered (a crash, a ledger that could not be reached)
   * and that are PENDING since before `before`, settled from the ledger: ACTIVE with its transaction when
   * it holds the consent exactly as signed, REFUSED when it does not. Stops at the first ledger failure
   * (the next pass retries). Answers how many were settled.
   */
  async settleStalledGrants(work: SystemContext, before: Date, take: number): Promise<number> {
    let settled = 0;
    for (const row of await this.consentRows.stalledGrants(work, before, take)) {
      let onLedger: ConsentState | undefined;
      try {
        onLedger = await this.chaincode.consent(row.id);
      } catch (error) {
        if (!(error instanceof LedgerNotFoundError)) {
          this.logger.warn(`settling the pending grant of consent ${row.id} failed: ${(error as Error).message}`);
          return settled;
        }
      }
      // Committed as this row was signed: the ledger's copy carries the same signature.
      const committedTxId = onLedger?.signature === row.grantSignature ? onLedger.grantTxId : undefined;
      const patient = await this.patientOf(row);
      if (committedTxId) {
        await this.connection.withTransaction(work, async (tx) => {
          if (await this.consentRows.activate(tx, row.id, committedTxId)) await this.recordSettlement(tx, row, patient, 'GRANTED', 'LEDGER_COMMITTED');
        });
        await this.access.invalidateForPatientOrLater(row.patientId);
      } else {
        await this.refuse(work, row, patient, work.now);
      }
      this.logger.log(`pending grant of consent ${row.id} settled: ${committedTxId ? 'committed on the ledger' : 'not on the ledger as signed'}`);
      settled++;
    }
    return settled;
  }

  /**
   * The access event of a grant's outcome: the patient's in their request, the server's when a later
   * pass settles it. `patient` is read before the transaction opens (on the embedded database a read on
   * another connection would wait for it).
   */
  private recordSettlement(tx: WorkContext, row: ConsentEntity, patient: ConsentEvent['patient'], decision: 'GRANTED' | 'DENIED', reason: string): Promise<void> {
    return this.parties.record(tx, { action: 'GRANT_CONSENT', decision, reason, patient, correlationId: `consent:${row.id}` });
  }

  private async patientOf(row: ConsentEntity): Promise<Party> {
    const patient = (await this.directory.users([row.patientId])).get(row.patientId);
    if (!patient) throw new Error(`patient ${row.patientId} of consent ${row.id} does not exist`);
    return patient;
  }

  async revokeConsent(ctx: RequestContext, id: string): Promise<Consent> {
    const patient = requirePatient(ctx);
    const row = await this.consentRows.consent(ctx, id);
    if (!row || row.patientId !== patient.id) throw accessDenied();
    this.access.assertCan(ctx, 'revoke', 'Consent', { patientId: row.patientId });
    if (row.status === 'REVOKED') {
      // Asked again (a retry, a second click): drop cached decisions once more, since the first
      // revocation's invalidation may not have reached the cache.
      await this.access.invalidateForPatientOrLater(row.patientId);
      return this.modelOf(ctx, row.patientId, row.id);
    }

    const payload = parseConsentRevokePayload({ type: CONSENT_REVOKE_TYPE, consentId: row.id, patientId: row.patientId, issuedAt: ctx.now.toISOString() });
    const keys = await this.sessionKeys.unseal(ctx);
    const signature = signCanonical(payload, keys.signingPrivateKey);
    keys.signingPrivateKey.fill(0);
    keys.wrappingPrivateKey.fill(0);

    const recipient = consentRecipient(row.grantPayload);
    let lockedFirst = new Set<string>();
    await this.connection.withTransaction(ctx, async (tx) => {
      // First the locks of the records in scope (see record-keys.ts): an upload or rotation of one
      // of them either committed before (its wraps for the grantee are deleted below) or waits and
      // then reads this consent as revoked.
      if (recipient) lockedFirst = new Set(await this.recordKeys.lockRecords(tx, scopeOf(row.patientId, row.grantPayload.scope)));
      await this.consentRows.markRevoked(tx, row.id, { revokedAt: ctx.now, payload, signature });
      if (recipient) await this.stripGrantee(tx, row, recipient, ctx.now);
      await this.parties.record(tx, { action: 'REVOKE_CONSENT', decision: 'GRANTED', reason: 'PATIENT_SIGNED', patient });
    });
    if (recipient) {
      // A record created after the locks above (a category in scope) was not locked: its first upload
      // may have read this consent as active before the commit and wrapped for the grantee after the
      // deletion. Once more, now that the revocation is visible, for those records only (the ones
      // locked above were settled there): such an upload holds its record's lock until it commits,
      // so this waits for it and deletes what it wrapped.
      await this.connection.withTransaction(ctx, async (tx) => {
        const locked = await this.recordKeys.lockRecords(tx, scopeOf(row.patientId, row.grantPayload.scope));
        const created = locked.filter((recordId) => !lockedFirst.has(recordId));
        if (created.length > 0) await this.stripGrantee(tx, row, recipient, ctx.now, created);
      });
    }
    // Effective from here on: this node holds the signed revocation (no later database write undoes it
    // here), the grantee holds no key, and no cached decision still grants. The revocation has taken
    // effect, so an unreachable cache does not fail the request: the invalidation is done before this
    // node uses the cache again, and meanwhile every node refuses cached grants of consents it knows to be revoked.
    this.revocations.noteSigned({ consentId: row.id, patientId: row.patientId, revokedAt: ctx.now.toISOString(), txId: null });
    await this.access.invalidateForPatientOrLater(row.patientId);

    try {
      const { txId, value: anchored } = await this.chaincode.revokeConsent(payload, signature);
      this.revocations.noteSigned({ consentId: row.id, patientId: row.patientId, revokedAt: anchored.revokedAt!, txId: anchored.revokeTxId });
      await this.consentRows.markRevocationAnchored(ctx, row.id, txId);
      // A decision cached from the ledger between the first invalidation and the commit.
      await this.access.invalidateForPatientOrLater(row.patientId);
    } catch (error) {
      // Already effective in the API and cryptographically (wraps gone); the job anchors it later.
      this.logger.warn(`revocation of consent ${row.id} is not anchored yet: ${(error as Error).message}`);
    }
    void this.rotations.kick();
    return this.modelOf(ctx, row.patientId, row.id);
  }

  /** The patient's consents (their own only), newest first; `activeOnly`: ACTIVE and not past validUntil. */
  async consents(ctx: RequestContext, patientId: string, activeOnly = false): Promise<Consent[]> {
    requireActor(ctx);
    this.access.assertCan(ctx, 'read', 'Consent', { patientId });
    const models = await this.toModels(ctx, (await this.verified.honouredFor(ctx, patientId)).reverse());
    return activeOnly ? models.filter((consent) => consent.status === 'ACTIVE') : models;
  }

  /**
   * The grantee named by the input: exactly one user with a care role, or one organization; with the
   * parties the grant's answer names (the patient, the grantee), read here once.
   */
  private async resolveGrantee(patient: UserActor, input: GrantConsentRequest): Promise<ResolvedGrantee> {
    const { granteeId, granteeOrganizationId } = input;
    if (!granteeId === !granteeOrganizationId) throw badInput('Give exactly one of granteeId and granteeOrganizationId', 'granteeId');
    if (granteeId) {
      if (granteeId === patient.id) throw badInput('A patient cannot grant consent to themselves', 'granteeId');
      const users = await this.directory.users([patient.id, granteeId]);
      const user = users.get(granteeId);
      if (!user) throw badInput('granteeId does not name a user', 'granteeId');
      if (ROLE_PERMISSIONS[user.role].consentActions.length === 0) {
        throw badInput(`A ${user.role} cannot be granted access to records`, 'granteeId');
      }
      return { grantee: { userId: granteeId }, parties: { users, organizations: new Map() } };
    }
    const [users, organizations] = await Promise.all([this.directory.users([patient.id]), this.directory.organizations([granteeOrganizationId!])]);
    if (!organizations.has(granteeOrganizationId!)) throw badInput('granteeOrganizationId does not name an organization', 'granteeOrganizationId');
    return { grantee: { organizationId: granteeOrganizationId! }, parties: { users, organizations } };
  }

  private async requireOwnRecords(ctx: RequestContext, patientId: string, recordIds: readonly string[]): Promise<void> {
    if (recordIds.length === 0) return;
    if (!recordIds.every(isUuid)) throw badInput('recordIds must be record ids', 'recordIds');
    // Records are the records module's: asked as a consent scope of the patient's (those of the ids that are theirs).
    const own = await this.recordKeys.recordIdsInScope(ctx, { patientId, recordIds, categories: [] });
    if (own.length !== recordIds.length) throw badInput('Every record in recordIds must be one of your records', 'recordIds');
  }

  /** Versions covered by a consent scope (by record id, or by category), as the transaction `tx` carries sees them. */
  private versionsInScope(tx: WorkContext, patientId: string, scope: ConsentGrantPayload['scope']): Promise<RecordVersionRef[]> {
    return this.recordKeys.versionsInScope(tx, scopeOf(patientId, scope));
  }

  /**
   * Inside a revocation's (or a refused grant's) transaction, under the locks of the records in scope:
   * deletes the grantee's wraps on the records in scope that no other consent of the patient that holds
   * keys (ACTIVE or PENDING) opens to the same recipient, and queues their key rotations. Idempotent (a
   * record already queued for this consent is not queued twice).
   */
  private async stripGrantee(tx: WorkContext, row: ConsentEntity, recipient: RecipientRef, now: Date, onlyRecordIds?: readonly string[]): Promise<string[]> {
    const stripped = await this.recordsOnlyThisConsentOpens(tx, row, recipient, now, onlyRecordIds);
    if (stripped.length > 0) await this.recordKeys.deleteWrapsFor(tx, recipient, { patientId: row.patientId, recordIds: stripped });
    await this.rotationQueue.queue(tx, row, stripped, now);
    return stripped;
  }

  /**
   * Records in the consent's scope that no other key-holding consent of the same patient opens to the
   * same recipient: their wraps go, and their data keys rotate. The other consents' scopes are read as
   * one union (one query however many there are).
   */
  private async recordsOnlyThisConsentOpens(tx: WorkContext, row: ConsentEntity, recipient: RecipientRef, now: Date, onlyRecordIds?: readonly string[]): Promise<string[]> {
    // Records with content (a first upload still in progress wraps for current consents only when it
    // lands); `onlyRecordIds`: those of the consent's records (already locked), not all of them.
    const scope = onlyRecordIds ? { recordIds: [...onlyRecordIds], categories: [] } : row.grantPayload.scope;
    const inScope = [...new Set((await this.versionsInScope(tx, row.patientId, scope)).map((ref) => ref.recordId))];
    if (inScope.length === 0) return [];
    const others = (await this.verified.keyHoldingFor(tx, row.patientId))
      .map(({ consent }) => consent)
      .filter((consent) => {
        const other = consentRecipient(consent);
        return (
          consent.id !== row.id &&
          consent.status === 'ACTIVE' &&
          Date.parse(consent.validUntil) > now.getTime() &&
          other?.kind === recipient.kind &&
          other.id === recipient.id
        );
      });
    if (others.length === 0) return inScope;
    const stillOpen = new Set(
      await this.recordKeys.recordIdsInScope(tx, {
        patientId: row.patientId,
        recordIds: [...new Set(others.flatMap((consent) => consent.scope.recordIds))],
        categories: [...new Set(others.flatMap((consent) => consent.scope.categories))],
      }),
    );
    return inScope.filter((recordId) => !stillOpen.has(recordId));
  }

  /** One consent as the policy sees it (signed, revoked wherever the ledger says so). */
  private async modelOf(ctx: RequestContext, patientId: string, consentId: string): Promise<Consent> {
    const honoured = await this.verified.honouredOne(ctx, patientId, consentId);
    if (!honoured) throw new DomainError('INTEGRITY_VIOLATION', `consent ${consentId} is not backed by a valid patient signature`);
    return (await this.toModels(ctx, [honoured]))[0];
  }

  /**
   * Status and revocation come from what the consent store proved (the ledger's revocations, signed
   * rows), not from the row's status columns; the other columns equal the signed payload (checked there).
   */
  private async toModels(ctx: RequestContext, honoured: readonly HonouredConsent[], known?: ConsentPartiesOf & { rotations: KeyRotationEntity[] }): Promise<Consent[]> {
    const now = ctx.now;
    const rows = honoured.map(({ row }) => row);
    const users = known?.users ?? (await this.directory.users(rows.flatMap((row) => [row.patientId, ...(row.granteeUserId ? [row.granteeUserId] : [])])));
    const organizations = known?.organizations ?? (await this.directory.organizations(rows.flatMap((row) => (row.granteeOrganizationId ? [row.granteeOrganizationId] : []))));
    const rotations = known?.rotations ?? (rows.length ? await this.rotationQueue.ofConsents(ctx, rows.map((row) => row.id)) : []);
    return honoured.map(({ row, consent, revocation }) => ({
      id: row.id,
      patient: partyOf(users, row.patientId),
      grantee: row.granteeUserId ? partyOf(users, row.granteeUserId) : null,
      grantedOrganization: row.granteeOrganizationId ? (organizations.get(row.granteeOrganizationId) ?? null) : null,
      recordIds: row.recordIds,
      categories: row.categories,
      actions: row.actions,
      purposes: row.purposes,
      validFrom: row.validFrom,
      validUntil: row.validUntil,
      status: statusAt(consent, now),
      ledgerTxId: ledgerTxIdOf(row),
      revokeLedgerTxId: revocation?.txId ?? row.revokeLedgerTxId,
      signature: row.grantSignature,
      createdAt: row.createdAt,
      revokedAt: revocation ? new Date(revocation.revokedAt) : row.revokedAt,
      keyRotations: rotations
        .filter((rotation) => rotation.consentId === row.id)
        .map((rotation) => ({
          recordId: rotation.recordId,
          status: rotation.status,
          attempts: rotation.attempts,
          lastError: rotation.lastError,
          completedAt: rotation.completedAt,
        })),
    }));
  }
}

/** A chaincode's refusal (bad input, forbidden, conflict, ...): the transaction did not commit and never will. */
function refusedByLedger(error: unknown): boolean {
  return error instanceof LedgerError && !(error instanceof LedgerUnavailableError) && !(error instanceof LedgerInternalError);
}

/** Consents are listed only once the ledger holds them (ConsentRepository reads ACTIVE and REVOKED rows): with its transaction. */
function ledgerTxIdOf(row: ConsentEntity): string {
  if (row.ledgerTxId === null) throw new Error(`consent ${row.id} (${row.status}) has no ledger transaction`);
  return row.ledgerTxId;
}

function statusAt(consent: PolicyConsent, now: Date): ConsentStatusValue {
  if (consent.status === 'REVOKED') return 'REVOKED';
  return Date.parse(consent.validUntil) <= now.getTime() ? 'EXPIRED' : 'ACTIVE';
}

function toRow(payload: ConsentGrantPayload, signature: string, accessRequestId: string | null): ConsentEntity {
  const row = new ConsentEntity();
  Object.assign(row, {
    id: payload.consentId,
    patientId: payload.patientId,
    granteeUserId: payload.grantee.userId ?? null,
    granteeOrganizationId: payload.grantee.organizationId ?? null,
    recordIds: payload.scope.recordIds,
    categories: payload.scope.categories,
    actions: payload.actions,
    purposes: payload.purposes,
    validFrom: new Date(payload.validFrom),
    validUntil: new Date(payload.validUntil),
    status: 'PENDING',
    grantPayload: payload,
    grantSignature: signature,
    ledgerTxId: null,
    accessRequestId,
    revokedAt: null,
    revokePayload: null,
    revokeSignature: null,
    revokeLedgerTxId: null,
  });
  return row;
}

/** A consent's scope as a set of the patient's records (a union of record ids and categories). */
function scopeOf(patientId: string, scope: ConsentGrantPayload['scope']): WrapDeletionScope {
  return { patientId, recordIds: scope.recordIds, categories: scope.categories };
}

/** Consents are the patient's own act: a signed-in PATIENT user (service accounts hold no keys). */
export function requirePatient(ctx: RequestContext): UserActor {
  const actor = requireActor(ctx);
  if (actor.kind !== 'user' || actor.role !== 'PATIENT') throw accessDenied('ROLE_NOT_ALLOWED');
  return actor;
}

export function badInput(message: string, field: string): DomainError {
  return new DomainError('BAD_USER_INPUT', message, { field });
}

function isoInstant(value: Date, field: string): string {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw badInput(`${field} is not a valid time`, field);
  return value.toISOString();
}

function zeroKeys(keys: PrivateKeyBundle): void {
  keys.signingPrivateKey.fill(0);
  keys.wrappingPrivateKey.fill(0);
}

/** The promise's outcome, never a rejection: a side started early is awaited after the other, and a failure meanwhile is no unhandled rejection. */
function settle<T>(promise: Promise<T>): Promise<PromiseSettledResult<T>> {
  return promise.then(
    (value) => ({ status: 'fulfilled', value }),
    (reason: unknown) => ({ status: 'rejected', reason }),
  );
}

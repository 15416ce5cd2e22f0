import { Injectable } from '@nestjs/common';
import type { ConsentRevokePayload } from 'healthledger-chaincode/shared';
import { IsNull, MoreThan } from 'typeorm';
import type { WorkContext } from '../common/request-context.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import { ConsentEntity } from './consent.entities.js';

/** First key of the two-key advisory locks on a patient's consents ('HLcs'); the second is a hash of the patient id. */
const PATIENT_CONSENTS_LOCK = 0x484c6373;

/** Consents past their use (revoked, expired) still read for an access check: the latest name a refusal's reason. */
const RECENT_INACTIVE_CONSENTS = 10;

/**
 * The `consents` table, unchecked: rows as stored. Whether a row counts (its patient's signature, the
 * ledger's revocations) is VerifiedConsents' decision, which reads consents only through this.
 */
@Injectable()
export class ConsentRepository {
  constructor(private readonly connection: TransactionalConnection) {}

  /** Stores a consent the patient just signed: one INSERT (its id is new: no `save` that reads first), the row completed with what the database generated. */
  async saveGranted(ctx: WorkContext, row: ConsentEntity): Promise<ConsentEntity> {
    await this.connection.manager(ctx).insert(ConsentEntity, row);
    return row;
  }

  /**
   * The lock on a patient's set of consents, held to the end of the transaction `ctx` carries:
   * `exclusive` while a grant adds one (the consent, its event and its key wraps in one transaction),
   * `shared` by whoever reads them to decide whom a new key is wrapped for, after its record lock. A
   * reader that comes first holds the grant back until it commits (the grant then sees its version);
   * one that comes later waits for the grant and reads it. Shared holders do not wait for each other.
   * A hash collision between two patients only makes one wait for the other.
   */
  async lockPatientConsents(ctx: WorkContext, patientId: string, mode: 'shared' | 'exclusive'): Promise<void> {
    const lock = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
    await this.connection.query(ctx, `SELECT ${lock}($1, hashtext($2))`, [PATIENT_CONSENTS_LOCK, patientId]);
  }

  consent(ctx: WorkContext, consentId: string): Promise<ConsentEntity | null> {
    return this.connection.getRepository(ctx, ConsentEntity).findOneBy({ id: consentId });
  }

  /** One consent of the patient (null when the id names none of theirs). */
  consentOf(ctx: WorkContext, patientId: string, consentId: string): Promise<ConsentEntity | null> {
    return this.connection.getRepository(ctx, ConsentEntity).findOneBy({ id: consentId, patientId });
  }

  /** Every consent of the patient (any status), oldest first. */
  consentsOf(ctx: WorkContext, patientId: string): Promise<ConsentEntity[]> {
    return this.connection.getRepository(ctx, ConsentEntity).find({ where: { patientId }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /**
   * The patient's consents whose row is ACTIVE and not past validUntil, plus the most recent others
   * (which name the reason of a refusal: CONSENT_REVOKED, ...), oldest first, each once.
   */
  async liveAndRecentOf(ctx: WorkContext, patientId: string): Promise<ConsentEntity[]> {
    const repository = this.connection.getRepository(ctx, ConsentEntity);
    const [live, recent] = await Promise.all([
      repository.find({ where: { patientId, status: 'ACTIVE', validUntil: MoreThan(new Date()) } }),
      repository.find({ where: { patientId }, order: { createdAt: 'DESC', id: 'DESC' }, take: RECENT_INACTIVE_CONSENTS }),
    ]);
    return [...new Map([...live, ...recent].map((row) => [row.id, row])).values()].sort(
      (a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
  }

  /**
   * Patients with an ACTIVE, unexpired consent row naming this user or organization as grantee: candidates
   * only (rows as stored); whether a consent counts is the access check's decision.
   */
  async patientIdsNaming(ctx: WorkContext, grantee: { userId: string; organizationId: string | null }, now: Date): Promise<string[]> {
    const query = this.connection
      .getRepository(ctx, ConsentEntity)
      .createQueryBuilder('c')
      .select('DISTINCT c.patientId', 'patientId')
      .where("c.status = 'ACTIVE'")
      .andWhere('c.validUntil > :now', { now })
      .andWhere(grantee.organizationId ? '(c.granteeUserId = :userId OR c.granteeOrganizationId = :organizationId)' : 'c.granteeUserId = :userId', grantee);
    const rows = await query.getRawMany<{ patientId: string }>();
    return rows.map((row) => row.patientId);
  }

  /** The patient's signed revocation, stored with the consent it revokes. */
  async markRevoked(ctx: WorkContext, consentId: string, revocation: { revokedAt: Date; payload: ConsentRevokePayload; signature: string }): Promise<void> {
    await this.connection
      .manager(ctx)
      .update(ConsentEntity, { id: consentId }, { status: 'REVOKED', revokedAt: revocation.revokedAt, revokePayload: revocation.payload, revokeSignature: revocation.signature });
  }

  /** The revocation reached the ledger in this transaction. */
  async markRevocationAnchored(ctx: WorkContext, consentId: string, txId: string): Promise<void> {
    await this.connection.getRepository(ctx, ConsentEntity).update({ id: consentId }, { revokeLedgerTxId: txId });
  }

  /** Revocations stored (and already effective) that have not reached the ledger yet. */
  revocationsNotAnchored(ctx: WorkContext, take: number): Promise<ConsentEntity[]> {
    return this.connection.getRepository(ctx, ConsentEntity).find({ where: { status: 'REVOKED', revokeLedgerTxId: IsNull() }, take });
  }
}

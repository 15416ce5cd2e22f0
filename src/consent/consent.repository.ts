import { Injectable } from '@nestjs/common';
import type { ConsentRevokePayload } from 'healthledger-chaincode/shared';
import { In, IsNull, LessThan, MoreThan } from 'typeorm';
import type { WorkContext } from '../common/request-context.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import { ConsentEntity, LEDGER_CONSENT_STATUSES } from './consent.entities.js';

/** First key of the two-key advisory locks on a patient's consents ('HLcs'); the second is a hash of the patient id. */
const PATIENT_CONSENTS_LOCK = 0x484c6373;

/** Consents past their use (revoked, expired) still read for an access check: the latest name a refusal's reason. */
const RECENT_INACTIVE_CONSENTS = 10;

/**
 * The `consents` table, unchecked: rows as stored. Whether a row counts (its patient's signature, the
 * ledger's revocations) is VerifiedConsents' decision, which reads consents only through this. Reads
 * see the consents the ledger holds (ACTIVE, REVOKED) unless they say otherwise: a PENDING grant counts
 * only for key wrapping (`keyHoldingOf`), a REFUSED one for nothing.
 */
@Injectable()
export class ConsentRepository {
  constructor(private readonly connection: TransactionalConnection) {}

  /**
   * Stores a consent the patient just signed, PENDING while the ledger commits it: one INSERT (its id is
   * new: no `save` that reads first); `row` is completed with what the database generated.
   */
  async savePending(ctx: WorkContext, row: ConsentEntity): Promise<void> {
    if (row.status !== 'PENDING' || row.ledgerTxId !== null) throw new Error(`consent ${row.id} is stored PENDING, without a ledger transaction`);
    await this.connection.manager(ctx).insert(ConsentEntity, row);
  }

  /** The ledger committed the grant in `txId`: ACTIVE from now on. False when it was not PENDING (settled already). */
  async activate(ctx: WorkContext, consentId: string, txId: string): Promise<boolean> {
    const result = await this.connection.manager(ctx).update(ConsentEntity, { id: consentId, status: 'PENDING' }, { status: 'ACTIVE', ledgerTxId: txId });
    return (result.affected ?? 0) > 0;
  }

  /**
   * The ledger refused the grant (or never received it). Its signature goes: a patient-signed consent the
   * ledger does not hold must not be one status edit away from counting (the payload stays, as a
   * record of what was asked). False when it was not PENDING (settled already).
   */
  async markRefused(ctx: WorkContext, consentId: string): Promise<boolean> {
    const result = await this.connection.manager(ctx).update(ConsentEntity, { id: consentId, status: 'PENDING' }, { status: 'REFUSED', grantSignature: '' });
    return (result.affected ?? 0) > 0;
  }

  /** How many grants are PENDING, and how many of them since before `stalledBefore`. */
  async pendingGrantCounts(ctx: WorkContext, stalledBefore: Date): Promise<{ pending: number; stalled: number }> {
    const [row] = (await this.connection.query(
      ctx,
      `SELECT count(*)::int AS pending, (count(*) FILTER (WHERE "created_at" < $1))::int AS stalled FROM "consents" WHERE "status" = 'PENDING'`,
      [stalledBefore],
    )) as Array<{ pending: number; stalled: number }>;
    return { pending: row?.pending ?? 0, stalled: row?.stalled ?? 0 };
  }

  /** Grants PENDING since before `before`: their request ended without settling them (a crash, a ledger that did not answer). */
  stalledGrants(ctx: WorkContext, before: Date, take: number): Promise<ConsentEntity[]> {
    return this.connection.getRepository(ctx, ConsentEntity).find({ where: { status: 'PENDING', createdAt: LessThan(before) }, order: { createdAt: 'ASC' }, take });
  }

  /**
   * The lock on a patient's set of consents, held to the end of the transaction `ctx` carries:
   * `exclusive` while a grant adds one (the PENDING consent and its key wraps in one transaction) or a
   * refused grant's wraps are stripped,
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
    return this.connection.getRepository(ctx, ConsentEntity).findOneBy({ id: consentId, status: In(LEDGER_CONSENT_STATUSES) });
  }

  /** One consent of the patient (null when the id names none of theirs). */
  consentOf(ctx: WorkContext, patientId: string, consentId: string): Promise<ConsentEntity | null> {
    return this.connection.getRepository(ctx, ConsentEntity).findOneBy({ id: consentId, patientId, status: In(LEDGER_CONSENT_STATUSES) });
  }

  /** Every consent of the patient (ACTIVE or REVOKED, expired included), oldest first. */
  consentsOf(ctx: WorkContext, patientId: string): Promise<ConsentEntity[]> {
    return this.connection
      .getRepository(ctx, ConsentEntity)
      .find({ where: { patientId, status: In(LEDGER_CONSENT_STATUSES) }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /**
   * The patient's consents that decide whom a record's data key is wrapped for: ACTIVE or PENDING (a grant
   * the ledger is committing: its wraps are written meanwhile, see ConsentService), not past validUntil.
   */
  keyHoldingOf(ctx: WorkContext, patientId: string): Promise<ConsentEntity[]> {
    return this.connection
      .getRepository(ctx, ConsentEntity)
      .find({ where: { patientId, status: In(['ACTIVE', 'PENDING']), validUntil: MoreThan(new Date()) }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /**
   * The patient's consents whose row is ACTIVE and not past validUntil, plus the most recent others
   * (which name the reason of a refusal: CONSENT_REVOKED, ...), oldest first, each once.
   */
  async liveAndRecentOf(ctx: WorkContext, patientId: string): Promise<ConsentEntity[]> {
    const repository = this.connection.getRepository(ctx, ConsentEntity);
    const [live, recent] = await Promise.all([
      repository.find({ where: { patientId, status: 'ACTIVE', validUntil: MoreThan(new Date()) } }),
      repository.find({ where: { patientId, status: In(LEDGER_CONSENT_STATUSES) }, order: { createdAt: 'DESC', id: 'DESC' }, take: RECENT_INACTIVE_CONSENTS }),
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

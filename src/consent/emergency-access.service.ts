import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ROLE_PERMISSIONS } from 'healthledger-chaincode/shared';
import { AccessService, accessDenied, requireActor } from '../access/access.service.js';
import { PartyDirectory } from '../auth/party-directory.js';
import type { RequestContext } from '../common/request-context.js';
import { TransactionalConnection } from '../database/transactional-connection.js';
import { sha256Hex } from '../crypto/index.js';
import { ChaincodeClient } from '../ledger/chaincode-client.js';
import { EmergencyAccessEntity } from './consent.entities.js';
import { EmergencyAccessRepository } from './emergency-access.repository.js';
import { ConsentParties, partyOf } from './consent-parties.js';
import { badInput } from './consent.service.js';
import type { EmergencyAccess } from './models/consent.model.js';

export const DEFAULT_BREAK_GLASS_MINUTES = 60;
export const MAX_BREAK_GLASS_MINUTES = 60;
export const MIN_BREAK_GLASS_REASON = 10;
const MAX_REASON_LENGTH = 1000;

/**
 * Break-glass: a DOCTOR or NURSE, stating why, gets READ access for purpose EMERGENCY to one
 * patient's records for at most an hour. The grant is recorded on the ledger (which refuses other
 * roles itself) with the reason's SHA-256, the reason in the database, and an EMERGENCY access event
 * in the patient's access log. A grant is never extended: more time takes a new, again recorded,
 * break-glass. Reads under it unwrap through the patient organization's emergency key.
 */
@Injectable()
export class EmergencyAccessService {
  constructor(
    private readonly connection: TransactionalConnection,
    private readonly accesses: EmergencyAccessRepository,
    private readonly chaincode: ChaincodeClient,
    private readonly access: AccessService,
    private readonly parties: ConsentParties,
    private readonly directory: PartyDirectory,
  ) {}

  async breakGlass(ctx: RequestContext, input: { patientId: string; reason: string; durationMinutes?: number | null }): Promise<EmergencyAccess> {
    const actor = requireActor(ctx);
    const patient = await this.directory.patient(input.patientId);
    if (actor.kind !== 'user' || !ROLE_PERMISSIONS[actor.role].breakGlass) {
      // A refused attempt is itself worth an entry in the patient's log (the refusal says nothing of the patient).
      if (patient) {
        await this.parties.record(ctx, { action: 'BREAK_GLASS', decision: 'DENIED', reason: 'BREAK_GLASS_NOT_PERMITTED', patient, purpose: 'EMERGENCY' });
      }
      throw accessDenied('ROLE_NOT_ALLOWED');
    }
    if (!patient) throw badInput('patientId does not name a patient', 'patientId');
    this.access.assertCan(ctx, 'create', 'EmergencyAccess', { patientId: patient.id, actorId: actor.id });

    const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
    if (reason.length < MIN_BREAK_GLASS_REASON || reason.length > MAX_REASON_LENGTH) {
      throw badInput(`reason is required: ${MIN_BREAK_GLASS_REASON}-${MAX_REASON_LENGTH} characters`, 'reason');
    }
    const minutes = input.durationMinutes ?? DEFAULT_BREAK_GLASS_MINUTES;
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_BREAK_GLASS_MINUTES) {
      throw badInput(`durationMinutes must be 1-${MAX_BREAK_GLASS_MINUTES}`, 'durationMinutes');
    }

    const request = {
      id: randomUUID(),
      actorId: actor.id,
      patientId: patient.id,
      reasonHash: sha256Hex(Buffer.from(reason, 'utf8')),
      expiresAt: new Date(ctx.now.getTime() + minutes * 60_000).toISOString(),
    };
    const submitted = await this.chaincode.recordEmergencyAccess(request);
    const state = submitted.value;

    const row = await this.connection.withTransaction(ctx, async (tx) => {
      const saved = await this.accesses.save(
        tx,
        Object.assign(new EmergencyAccessEntity(), {
          id: request.id,
          actorId: actor.id,
          actorOrganizationId: actor.organizationId,
          patientId: patient.id,
          reason,
          reasonHash: request.reasonHash,
          grantedAt: new Date(state.grantedAt),
          expiresAt: new Date(state.expiresAt),
          ledgerTxId: submitted.txId,
        }),
      );
      await this.parties.record(tx, { action: 'BREAK_GLASS', decision: 'EMERGENCY', reason: 'BREAK_GLASS', patient, purpose: 'EMERGENCY' });
      return saved;
    });
    await this.access.invalidateForPatient(patient.id);
    return (await this.toModels([row]))[0];
  }

  /** Break-glass uses on the patient's records (for the patient) or the actor's own; newest first. */
  async emergencyAccesses(ctx: RequestContext, patientId: string): Promise<EmergencyAccess[]> {
    const actor = requireActor(ctx);
    const own = actor.role === 'PATIENT' ? {} : { actorId: actor.id };
    this.access.assertCan(ctx, 'read', 'EmergencyAccess', { patientId, ...own });
    const rows = await this.accesses.list(ctx, patientId, own.actorId);
    return this.toModels(rows);
  }

  private async toModels(rows: readonly EmergencyAccessEntity[]): Promise<EmergencyAccess[]> {
    const users = await this.directory.users(rows.flatMap((row) => [row.patientId, row.actorId]));
    return rows.map((row) => ({
      id: row.id,
      patient: partyOf(users, row.patientId),
      actor: partyOf(users, row.actorId),
      reason: row.reason,
      grantedAt: row.grantedAt,
      expiresAt: row.expiresAt,
      ledgerTxId: row.ledgerTxId,
    }));
  }
}

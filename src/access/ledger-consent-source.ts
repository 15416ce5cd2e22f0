import { Inject, Injectable } from '@nestjs/common';
import {
  CONTRACT_NAMES,
  toPolicyConsent,
  type ConsentState,
  type EmergencyAccessState,
  type PolicyEmergencyGrant,
} from 'healthledger-chaincode/shared';
import { LEDGER } from '../ledger/ledger.module.js';
import type { LedgerPort } from '../ledger/ports/ledger.port.js';
import type { PatientGrants } from './ability.factory.js';
import type { ConsentSource } from './consent-source.js';

/** Reads consents and break-glass grants from the ledger (`consent:GetPatientConsents`, `consent:GetPatientEmergencyAccesses`). */
@Injectable()
export class LedgerConsentSource implements ConsentSource {
  constructor(@Inject(LEDGER) private readonly ledger: LedgerPort) {}

  async grantsFor(patientId: string, actorId: string): Promise<PatientGrants> {
    const [consents, emergencies] = await Promise.all([
      this.query<ConsentState[]>('GetPatientConsents', patientId),
      this.query<EmergencyAccessState[]>('GetPatientEmergencyAccesses', patientId),
    ]);
    return {
      consents: consents.map(toPolicyConsent),
      emergencies: emergencies.filter((access) => access.actorId === actorId).map(toPolicyEmergencyGrant),
    };
  }

  private async query<T>(transaction: string, patientId: string): Promise<T> {
    const result = await this.ledger.evaluate(`${CONTRACT_NAMES.consent}:${transaction}`, [patientId]);
    return JSON.parse(result.toString('utf8')) as T;
  }
}

function toPolicyEmergencyGrant(state: EmergencyAccessState): PolicyEmergencyGrant {
  return { id: state.id, actorId: state.actorId, patientId: state.patientId, grantedAt: state.grantedAt, expiresAt: state.expiresAt };
}

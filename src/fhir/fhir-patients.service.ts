import { Injectable } from '@nestjs/common';
import type { Patient } from '@medplum/fhirtypes';
import { accessDenied, AccessService } from '../access/access.service.js';
import { accessEventFor } from '../audit/access-event-for.js';
import { AuditService } from '../audit/audit.service.js';
import { PartyDirectory } from '../auth/party-directory.js';
import { isUuid } from '../common/input-rules.js';
import type { RequestContext } from '../common/request-context.js';
import { toPatient } from './patient.mapper.js';

/** What a Patient search names: each given criterion must name the same patient. */
export interface PatientCriteria {
  id?: string;
  /** An identifier of another system names nobody: null. */
  identifier?: string | null;
  email?: string;
}

/**
 * Patients as FHIR Patient, only to whoever may know them (AccessService.mayKnowPatient: the policy as
 * it stands); looked up through auth's PartyDirectory. A patient the caller may not know is answered
 * like one that does not exist.
 */
@Injectable()
export class FhirPatients {
  constructor(
    private readonly directory: PartyDirectory,
    private readonly access: AccessService,
    private readonly audit: AuditService,
  ) {}

  async read(ctx: RequestContext, id: string): Promise<Patient> {
    const patient = await this.known(ctx, id, 'READ');
    if (!patient) throw accessDenied();
    return patient;
  }

  /** The one patient all criteria name, if the caller may know them; else none. */
  async search(ctx: RequestContext, criteria: PatientCriteria): Promise<Patient[]> {
    const ids = new Set<string | null>();
    if (criteria.id !== undefined) ids.add(criteria.id);
    if (criteria.identifier !== undefined) ids.add(criteria.identifier);
    if (criteria.email !== undefined) ids.add((await this.directory.patientByEmail(criteria.email))?.id ?? null);
    const [id] = ids;
    if (ids.size !== 1 || !id) return [];
    const patient = await this.known(ctx, id, 'SEARCH');
    return patient ? [patient] : [];
  }

  /**
   * The patient, if the caller may know them. Each answer about an existing patient is an access event in
   * their log (READ or SEARCH, granted or denied), as record accesses are.
   */
  private async known(ctx: RequestContext, id: string, action: 'READ' | 'SEARCH'): Promise<Patient | null> {
    if (!isUuid(id)) return null;
    const patient = await this.directory.patient(id.toLowerCase());
    if (!patient) return null;
    const allowed = await this.access.mayKnowPatient(ctx, patient);
    await this.audit.record(
      ctx,
      accessEventFor(ctx, {
        action,
        decision: allowed ? 'GRANTED' : 'DENIED',
        reason: allowed ? 'MAY_KNOW_PATIENT' : 'MAY_NOT_KNOW_PATIENT',
        purpose: ctx.purpose ?? null,
        patientId: patient.id,
        patientOrganizationId: patient.organizationId,
      }),
    );
    return allowed ? toPatient(patient) : null;
  }
}

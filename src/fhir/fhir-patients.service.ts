import { Injectable } from '@nestjs/common';
import type { Patient } from '@medplum/fhirtypes';
import { accessDenied } from '../access/access.service.js';
import type { RequestContext } from '../common/request-context.js';
import { KnownPatients, type PatientCriteria } from '../patients/known-patients.js';
import { toPatient } from './patient.mapper.js';

/**
 * Patients as FHIR Patient, only to whoever may know them: KnownPatients, the rule GraphQL's
 * `findPatient` and `myPatients` use too. A patient the caller may not know is answered like one that
 * does not exist (read: refused, search: empty); each answer is audited there.
 */
@Injectable()
export class FhirPatients {
  constructor(private readonly patients: KnownPatients) {}

  async read(ctx: RequestContext, id: string): Promise<Patient> {
    const patient = await this.patients.read(ctx, id);
    if (!patient) throw accessDenied();
    return toPatient(patient);
  }

  /** The one patient all criteria name, if the caller may know them; else none. */
  async search(ctx: RequestContext, criteria: PatientCriteria): Promise<Patient[]> {
    const patient = await this.patients.find(ctx, criteria);
    return patient ? [toPatient(patient)] : [];
  }
}

import { Args, Int, Query, Resolver } from '@nestjs/graphql';
import { Authenticated } from '../access/public.decorator.js';
import { Ctx } from '../common/ctx.decorator.js';
import type { RequestContext } from '../common/request-context.js';
import { Patient, PatientConnection } from './models/patient.model.js';
import { PatientViews } from './patient-views.js';

const WHO_MAY_KNOW =
  'Only patients you may know are ever answered (the rule FHIR Patient read and search apply, AccessService.mayKnowPatient, under the request’s X-Purpose-Of-Use): ' +
  'yourself; as your organization’s ADMIN or a system administrator, its patients; anyone a signed consent names (you or your organization) or your active break-glass covers; ' +
  'DOCTOR, NURSE and LAB staff, with purpose TREATMENT, the patients of their own organization (whose records they may write).';

@Resolver()
export class PatientsResolver {
  constructor(private readonly patients: PatientViews) {}

  @Query(() => Patient, {
    nullable: true,
    description:
      `The one patient with this exact patient id (\`identifier\`) and/or sign-in email (case-insensitive); when both are given they must name the same patient. ${WHO_MAY_KNOW} ` +
      'Anyone else gets null, exactly as for a patient who does not exist, so a lookup by email tells a caller who may not know the patient (a NURSE of another organization without consent) nothing; ' +
      'each lookup that names an existing patient is an access event in that patient’s log (SEARCH, GRANTED or DENIED), refusals included. At least one of the two is required (BAD_USER_INPUT).',
  })
  @Authenticated('only patients the caller may know (KnownPatients, AccessService.mayKnowPatient); anyone else is answered as if the patient did not exist')
  findPatient(
    @Ctx() ctx: RequestContext,
    @Args('identifier', { type: () => String, nullable: true, description: 'The patient’s id (a UUID), exactly' }) identifier?: string | null,
    @Args('email', { type: () => String, nullable: true, description: 'The patient’s sign-in email address, exactly (case-insensitive)' }) email?: string | null,
  ): Promise<Patient | null> {
    return this.patients.find(ctx, { identifier, email });
  }

  @Query(() => PatientConnection, {
    description:
      `Your patients, by name: your organization’s patients when you may know every one of them, and those whose active consent names you or your organization. ${WHO_MAY_KNOW} ` +
      'Each patient listed is an access event in their log (SEARCH). Page size 1 to 50 (default 20).',
  })
  @Authenticated('lists only patients the caller may know (KnownPatients, AccessService.mayKnowPatient)')
  myPatients(
    @Ctx() ctx: RequestContext,
    @Args('first', { type: () => Int, nullable: true, defaultValue: 20 }) first: number,
    @Args('after', { type: () => String, nullable: true }) after: string | null,
  ): Promise<PatientConnection> {
    return this.patients.mine(ctx, first, after);
  }
}

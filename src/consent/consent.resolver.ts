import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { Authenticated, RequirePermission } from '../access/public.decorator.js';
import { Ctx } from '../common/ctx.decorator.js';
import type { RequestContext } from '../common/request-context.js';
import { AccessRequestService } from './access-request.service.js';
import { ConsentService } from './consent.service.js';
import { BreakGlassInput, GrantConsentInput, RequestAccessInput } from './dto/consent.inputs.js';
import { EmergencyAccessService } from './emergency-access.service.js';
import { AccessRequest, Consent, EmergencyAccess } from './models/consent.model.js';

@Resolver()
export class ConsentResolver {
  constructor(
    private readonly consentService: ConsentService,
    private readonly accessRequestService: AccessRequestService,
    private readonly emergencyAccessService: EmergencyAccessService,
  ) {}

  @Mutation(() => Consent, { description: 'Signed with your key and anchored on the ledger; wraps the records’ keys for the grantee' })
  @RequirePermission('create', 'Consent', 'the patient, for their own records, in session')
  grantConsent(@Ctx() ctx: RequestContext, @Args('input') input: GrantConsentInput): Promise<Consent> {
    return this.consentService.grantConsent(ctx, input);
  }

  @Mutation(() => Consent, { description: 'Effective at once: the grantee’s keys are deleted; the records are re-encrypted in the background' })
  @RequirePermission('revoke', 'Consent', 'the patient who granted it, in session')
  revokeConsent(@Ctx() ctx: RequestContext, @Args('id', { type: () => ID }) id: string): Promise<Consent> {
    return this.consentService.revokeConsent(ctx, id);
  }

  @Query(() => [Consent], { description: 'Your consents, newest first; consents the ledger-registered key did not sign are not listed' })
  @RequirePermission('read', 'Consent', 'the patient, their own consents')
  consents(
    @Ctx() ctx: RequestContext,
    @Args('patientId', { type: () => ID }) patientId: string,
    @Args('activeOnly', { type: () => Boolean, nullable: true }) activeOnly?: boolean | null,
  ): Promise<Consent[]> {
    return this.consentService.consents(ctx, patientId, activeOnly ?? false);
  }

  @Mutation(() => AccessRequest, { description: 'A provider asks the patient for READ access to some categories' })
  @RequirePermission('create', 'AccessRequest', 'care roles and researchers')
  requestAccess(@Ctx() ctx: RequestContext, @Args('input') input: RequestAccessInput): Promise<AccessRequest> {
    return this.accessRequestService.requestAccess(ctx, input);
  }

  @Mutation(() => AccessRequest, { description: 'Approving signs a consent for the requester in your session' })
  @RequirePermission('respond', 'AccessRequest', 'the patient asked, in session')
  respondToAccessRequest(
    @Ctx() ctx: RequestContext,
    @Args('id', { type: () => ID }) id: string,
    @Args('approve', { type: () => Boolean }) approve: boolean,
  ): Promise<AccessRequest> {
    return this.accessRequestService.respondToAccessRequest(ctx, id, approve);
  }

  @Query(() => [AccessRequest], { description: 'A patient’s incoming requests, or a provider’s outgoing ones (status: PENDING, APPROVED, DENIED)' })
  @Authenticated('each caller sees only requests to them or by them')
  accessRequests(@Ctx() ctx: RequestContext, @Args('status', { type: () => String, nullable: true }) status?: string | null): Promise<AccessRequest[]> {
    return this.accessRequestService.accessRequests(ctx, status);
  }

  @Mutation(() => EmergencyAccess, {
    description:
      'DOCTOR/NURSE: time-limited READ for EMERGENCY; recorded on the ledger and in the patient’s access log. Every read under it must send ' +
      'X-Purpose-Of-Use: EMERGENCY (without it: FORBIDDEN, extensions.reason PURPOSE_REQUIRED)',
  })
  @Authenticated('DOCTOR and NURSE only, checked by the service so that refused attempts are logged for the patient')
  breakGlass(@Ctx() ctx: RequestContext, @Args('input') input: BreakGlassInput): Promise<EmergencyAccess> {
    return this.emergencyAccessService.breakGlass(ctx, input);
  }

  @Query(() => [EmergencyAccess], { description: 'Break-glass uses on a patient’s records: all of them for the patient, your own for staff' })
  @RequirePermission('read', 'EmergencyAccess', 'the patient, or the staff member who broke glass')
  emergencyAccesses(@Ctx() ctx: RequestContext, @Args('patientId', { type: () => ID }) patientId: string): Promise<EmergencyAccess[]> {
    return this.emergencyAccessService.emergencyAccesses(ctx, patientId);
  }
}

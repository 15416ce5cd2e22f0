import { Injectable } from '@nestjs/common';
import type { Consent as FhirConsent } from '@medplum/fhirtypes';
import { accessDenied, requireActor } from '../access/access.service.js';
import type { RequestContext } from '../common/request-context.js';
import { ConsentService } from '../consent/consent.service.js';
import type { Consent } from '../consent/models/consent.model.js';
import { consentStatus, toFhirConsent, type ConsentGrantInput } from './consent.mapper.js';

export interface ConsentCriteria {
  patientId: string;
  /** FHIR statuses to keep (null: any). */
  statuses: readonly string[] | null;
  /** The grantee's user or organization id (null: any). */
  actorId: string | null;
}

/**
 * Consent over ConsentService, which decides who may see and grant them (the patient, their own; a
 * grant is signed with the patient's key in their session), exactly as for GraphQL.
 */
@Injectable()
export class FhirConsents {
  constructor(private readonly consents: ConsentService) {}

  /** One of the caller's own consents; anything else is refused like a missing one. */
  async read(ctx: RequestContext, id: string): Promise<FhirConsent> {
    const actor = requireActor(ctx);
    const consent = (await this.consents.consents(ctx, actor.id)).find((candidate) => candidate.id === id);
    if (!consent) throw accessDenied();
    return toFhirConsent(consent, ctx.now);
  }

  async search(ctx: RequestContext, criteria: ConsentCriteria): Promise<FhirConsent[]> {
    const grantee = (consent: Consent) => consent.grantee?.id ?? consent.grantedOrganization?.id;
    return (await this.consents.consents(ctx, criteria.patientId))
      .filter((consent) => criteria.statuses === null || criteria.statuses.includes(consentStatus(consent, ctx.now)))
      .filter((consent) => criteria.actorId === null || grantee(consent) === criteria.actorId)
      .map((consent) => toFhirConsent(consent, ctx.now));
  }

  /** A grant by the patient in session, for themselves only (ConsentService refuses anyone but a patient). */
  async create(ctx: RequestContext, input: ConsentGrantInput): Promise<FhirConsent> {
    if (requireActor(ctx).id !== input.patientId) throw accessDenied();
    const { patientId: _patientId, ...grant } = input;
    return toFhirConsent(await this.consents.grantConsent(ctx, grant), ctx.now);
  }
}

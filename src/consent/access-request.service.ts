import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ROLE_PERMISSIONS, type Purpose, type RecordCategory } from 'healthledger-chaincode/shared';
import { AccessService, accessDenied, requireActor } from '../access/access.service.js';
import { PartyDirectory } from '../auth/party-directory.js';
import { DomainError } from '../common/domain-error.js';
import type { RequestContext } from '../common/request-context.js';
import { AccessRequestRepository } from './access-request.repository.js';
import { ACCESS_REQUEST_STATUSES, AccessRequestEntity, type AccessRequestStatus } from './consent.entities.js';
import { ConsentParties, partyOf } from './consent-parties.js';
import { isUuid } from '../common/input-rules.js';
import { ConsentService, badInput, requirePatient } from './consent.service.js';
import type { AccessRequest } from './models/consent.model.js';

const DAY_MS = 86_400_000;
export const DEFAULT_REQUEST_DAYS = 30;
export const MAX_REQUEST_DAYS = 365;
const MAX_REASON_LENGTH = 1000;

export interface RequestAccessRequest {
  patientId: string;
  categories: readonly RecordCategory[];
  purpose: Purpose;
  reason: string;
  validUntil?: Date | null;
}

/**
 * A provider asks a patient for access; the patient approves (which signs a consent for the
 * requester in the patient's session: READ, the categories and purpose asked for, until validUntil)
 * or denies. Only the patient can answer, only once.
 */
@Injectable()
export class AccessRequestService {
  constructor(
    private readonly requests: AccessRequestRepository,
    private readonly access: AccessService,
    private readonly consents: ConsentService,
    private readonly parties: ConsentParties,
    private readonly directory: PartyDirectory,
  ) {}

  async requestAccess(ctx: RequestContext, input: RequestAccessRequest): Promise<AccessRequest> {
    const actor = requireActor(ctx);
    if (actor.kind !== 'user') throw accessDenied('ROLE_NOT_ALLOWED');
    this.access.assertCan(ctx, 'create', 'AccessRequest', { patientId: input.patientId, requesterId: actor.id });
    const permissions = ROLE_PERMISSIONS[actor.role];
    if (!permissions.purposes.includes(input.purpose) || input.purpose === 'EMERGENCY') {
      throw badInput(`A ${actor.role} may not ask for access for purpose ${input.purpose}${input.purpose === 'EMERGENCY' ? ' (use breakGlass)' : ''}`, 'purpose');
    }
    const categories = [...new Set(input.categories)];
    if (categories.length === 0) throw badInput('Ask for at least one category', 'categories');
    const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
    if (reason.length === 0 || reason.length > MAX_REASON_LENGTH) throw badInput(`reason must be 1-${MAX_REASON_LENGTH} characters`, 'reason');
    const validUntil = input.validUntil ?? new Date(ctx.now.getTime() + DEFAULT_REQUEST_DAYS * DAY_MS);
    if (Number.isNaN(validUntil.getTime()) || validUntil <= ctx.now || validUntil.getTime() - ctx.now.getTime() > MAX_REQUEST_DAYS * DAY_MS) {
      throw badInput(`validUntil must be in the future and at most ${MAX_REQUEST_DAYS} days away`, 'validUntil');
    }
    const patient = await this.directory.patient(input.patientId);
    if (!patient) throw badInput('patientId does not name a patient', 'patientId');

    const row = Object.assign(new AccessRequestEntity(), {
      id: randomUUID(),
      patientId: patient.id,
      requesterId: actor.id,
      requesterOrganizationId: actor.organizationId,
      categories,
      purpose: input.purpose,
      reason,
      validUntil,
      status: 'PENDING' as const,
      consentId: null,
      respondedAt: null,
    });
    return (await this.toModels([await this.requests.save(ctx, row)]))[0];
  }

  async respondToAccessRequest(ctx: RequestContext, id: string, approve: boolean): Promise<AccessRequest> {
    const patient = requirePatient(ctx);
    const row = isUuid(id) ? await this.requests.request(ctx, id) : null;
    if (!row || row.patientId !== patient.id) throw accessDenied();
    this.access.assertCan(ctx, 'respond', 'AccessRequest', { patientId: row.patientId, requesterId: row.requesterId });
    if (row.status !== 'PENDING') throw new DomainError('CONFLICT', `This access request was already ${row.status.toLowerCase()}`);

    // Claim the request first, so two answers racing cannot both act.
    const claimed = await this.requests.claimAnswer(ctx, row.id, approve ? 'APPROVED' : 'DENIED', ctx.now);
    if (!claimed) throw new DomainError('CONFLICT', 'This access request was already answered');
    if (!approve) {
      await this.parties.record(ctx, { action: 'DENY_ACCESS_REQUEST', decision: 'DENIED', reason: 'PATIENT_DENIED', patient, purpose: row.purpose });
    } else {
      try {
        const consent = await this.consents.grantConsent(
          ctx,
          {
            granteeId: row.requesterId,
            categories: row.categories,
            actions: ['READ'],
            purposes: [row.purpose],
            validFrom: ctx.now,
            validUntil: row.validUntil,
          },
          { accessRequestId: row.id },
        );
        await this.requests.linkConsent(ctx, row.id, consent.id);
      } catch (error) {
        // Nothing was granted: the request can be answered again.
        await this.requests.reopen(ctx, row.id);
        throw error;
      }
    }
    return (await this.toModels([await this.requests.requestOrFail(ctx, row.id)]))[0];
  }

  /** A patient's incoming requests, or a provider's outgoing ones; newest first. */
  async accessRequests(ctx: RequestContext, status?: string | null): Promise<AccessRequest[]> {
    const actor = requireActor(ctx);
    if (actor.kind !== 'user') throw accessDenied('ROLE_NOT_ALLOWED');
    if (status != null && !ACCESS_REQUEST_STATUSES.includes(status as AccessRequestStatus)) {
      throw badInput(`status must be one of ${ACCESS_REQUEST_STATUSES.join(', ')}`, 'status');
    }
    const own = actor.role === 'PATIENT' ? { patientId: actor.id } : { requesterId: actor.id };
    if (actor.role === 'PATIENT') this.access.assertCan(ctx, 'read', 'AccessRequest', { patientId: actor.id });
    else this.access.assertCan(ctx, 'read', 'AccessRequest', { patientId: '', requesterId: actor.id });
    const rows = await this.requests.list(ctx, own, status ? (status as AccessRequestStatus) : undefined);
    return this.toModels(rows);
  }

  private async toModels(rows: readonly AccessRequestEntity[]): Promise<AccessRequest[]> {
    const users = await this.directory.users(rows.flatMap((row) => [row.patientId, row.requesterId]));
    const organizations = await this.directory.organizations(rows.flatMap((row) => (row.requesterOrganizationId ? [row.requesterOrganizationId] : [])));
    return rows.map((row) => ({
      id: row.id,
      patient: partyOf(users, row.patientId),
      requester: partyOf(users, row.requesterId),
      requesterOrganization: row.requesterOrganizationId ? (organizations.get(row.requesterOrganizationId) ?? null) : null,
      categories: row.categories,
      purpose: row.purpose,
      reason: row.reason,
      validUntil: row.validUntil,
      status: row.status,
      consentId: row.consentId,
      createdAt: row.createdAt,
      respondedAt: row.respondedAt,
    }));
  }
}

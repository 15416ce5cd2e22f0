import { Injectable } from '@nestjs/common';
import type { Role } from 'healthledger-chaincode/shared';
import { isUuid } from '../common/input-rules.js';
import { systemContext, type WorkContext } from '../common/request-context.js';
import type { Organization } from './models/organization.model.js';
import { OrganizationRepository } from './organization.repository.js';
import { toOrganizationModel } from './organization.service.js';
import { type ServiceAccountPublicRow, ServiceAccountRepository } from './service-account.repository.js';
import { type PatientScope, type UserPublicRow, UserRepository } from './user.repository.js';
import type { NameKey } from '../common/name-cursor.js';

export type { PatientScope };

/** A user or a service account, as other modules may know it. */
export interface Party {
  readonly id: string;
  readonly kind: 'user' | 'service';
  /** The user's name, or the service account's (what the API shows for whoever acted). */
  readonly name: string;
  readonly role: Role;
  /** Null only for system administrators. */
  readonly organizationId: string | null;
  /** X25519 public key (base64url) that data keys are wrapped to; null for a service account, which holds no keys. */
  readonly wrappingPublicKey: string | null;
}

/**
 * The directory of people and organizations the auth module exports: who a user, service account or
 * organization is, by id and batched (one query per kind per call), for the modules that show or
 * address them (records, consent, audit). They ask here instead of reading auth's tables, so there
 * is one way to name an actor, and service accounts are named wherever users are.
 *
 * Ids that are no UUID (the SYSTEM actor of background work) are never looked up: nothing has them.
 * Unknown ids are absent from the answers. With `ctx`, the lookup runs in the transaction it carries
 * (a caller holding record locks: on the embedded database another connection would wait for it);
 * without, in a system context on the pool: the directory only names and addresses parties, it
 * decides no access.
 */
@Injectable()
export class PartyDirectory {
  constructor(
    private readonly userRepository: UserRepository,
    private readonly serviceAccountRepository: ServiceAccountRepository,
    private readonly organizationRepository: OrganizationRepository,
  ) {}

  /** Users (only: no service account) by id. */
  async users(ids: readonly string[], ctx?: WorkContext): Promise<Map<string, Party>> {
    const unique = lookupIds(ids);
    if (unique.length === 0) return new Map();
    const rows = await this.userRepository.publicByIds(ctx ?? system(), unique);
    return new Map(rows.map((row) => [row.id, userParty(row)]));
  }

  /** The user with this id whose role is PATIENT, or null. */
  async patient(id: string): Promise<Party | null> {
    const user = (await this.users([id])).get(id);
    return user?.role === 'PATIENT' ? user : null;
  }

  /** The PATIENT user signing in with this email address (case-insensitive), or null. */
  async patientByEmail(email: string): Promise<Party | null> {
    const user = await this.userRepository.findByEmail(system(), email);
    return user?.role === 'PATIENT' ? userParty(user) : null;
  }

  /**
   * A page of patients in `scope`, by (lower(name), id) after `after`, and how many the scope holds:
   * only naming; who may be listed is the caller's access decision (KnownPatients).
   */
  async patientsPage(ctx: WorkContext, scope: PatientScope, after: NameKey | null, limit: number): Promise<{ rows: Party[]; totalCount: number }> {
    const ids = lookupIds(scope.ids);
    const narrowed = { organizationId: scope.organizationId, ids };
    const [rows, totalCount] = await Promise.all([this.userRepository.patientsPage(ctx, narrowed, after, limit), this.userRepository.countPatients(ctx, narrowed)]);
    return { rows: rows.map(userParty), totalCount };
  }

  /** Users and service accounts by id: whoever may have acted (created a record, read one, answered a request). */
  async parties(ids: readonly string[]): Promise<Map<string, Party>> {
    const parties = await this.users(ids);
    const missing = lookupIds(ids).filter((id) => !parties.has(id));
    if (missing.length > 0) {
      const accounts = await this.serviceAccountRepository.publicByIds(system(), missing);
      for (const account of accounts) parties.set(account.id, serviceParty(account));
    }
    return parties;
  }

  /** Display names of users and service accounts by id, for lists that name actors. */
  async displayNames(ids: readonly string[]): Promise<Map<string, string>> {
    const parties = await this.parties(ids);
    return new Map([...parties.values()].map((party) => [party.id, party.name]));
  }

  /** Organizations by id, as the API shows them (with their public keys). */
  async organizations(ids: readonly string[], ctx?: WorkContext): Promise<Map<string, Organization>> {
    const unique = lookupIds(ids);
    if (unique.length === 0) return new Map();
    const rows = await this.organizationRepository.publicByIds(ctx ?? system(), unique);
    return new Map(rows.map((row) => [row.id, toOrganizationModel(row)]));
  }
}

/** The context of a lookup without the caller's transaction (a fresh one, so its `now` is the lookup's). */
function system() {
  return systemContext('party-directory');
}

/** The distinct ids worth a query (a non-UUID would make PostgreSQL refuse the whole query). */
function lookupIds(ids: readonly string[]): string[] {
  return [...new Set(ids)].filter(isUuid);
}

function userParty(row: UserPublicRow): Party {
  return { id: row.id, kind: 'user', name: row.name, role: row.role, organizationId: row.organizationId, wrappingPublicKey: row.wrappingPublicKey };
}

function serviceParty(row: ServiceAccountPublicRow): Party {
  return { id: row.id, kind: 'service', name: row.name, role: row.role, organizationId: row.organizationId, wrappingPublicKey: null };
}

import { Injectable } from '@nestjs/common';
import { type Party, PartyDirectory } from '../auth/party-directory.js';
import { DomainError } from '../common/domain-error.js';
import type { RequestContext } from '../common/request-context.js';
import { KnownPatients } from './known-patients.js';
import type { Patient, PatientConnection } from './models/patient.model.js';

/** KnownPatients' answers as the GraphQL API shows them (with their organizations' names). */
@Injectable()
export class PatientViews {
  constructor(
    private readonly known: KnownPatients,
    private readonly directory: PartyDirectory,
  ) {}

  async find(ctx: RequestContext, input: { identifier?: string | null; email?: string | null }): Promise<Patient | null> {
    const identifier = input.identifier?.trim() || undefined;
    const email = input.email?.trim() || undefined;
    if (identifier === undefined && email === undefined) throw new DomainError('BAD_USER_INPUT', 'Give identifier or email');
    const patient = await this.known.find(ctx, { identifier, email });
    return patient ? (await this.toModels([patient]))[0] : null;
  }

  async mine(ctx: RequestContext, first: number, after: string | null): Promise<PatientConnection> {
    const page = await this.known.mine(ctx, first, after);
    const nodes = await this.toModels(page.edges.map((edge) => edge.node));
    return { ...page, edges: page.edges.map((edge, index) => ({ cursor: edge.cursor, node: nodes[index] })) };
  }

  private async toModels(patients: readonly Party[]): Promise<Patient[]> {
    const organizations = await this.directory.organizations(patients.flatMap((patient) => (patient.organizationId ? [patient.organizationId] : [])));
    return patients.map((patient) => {
      const organization = patient.organizationId ? organizations.get(patient.organizationId) : undefined;
      return { id: patient.id, name: patient.name, organization: organization ? { id: organization.id, name: organization.name } : null };
    });
  }
}

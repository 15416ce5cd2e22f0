import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { SCOPE_PERMISSIONS, type ScopePermission } from '../access/service-scopes.js';
import { SEARCH_PARAMETERS, type SearchableType } from './search-parameters.js';

type Interaction = NonNullable<CapabilityStatementRestResource['interaction']>[number]['code'];

/**
 * What the FHIR API implements, resource by resource: the CapabilityStatement is built from this
 * table and SEARCH_PARAMETERS, and the e2e test calls every interaction listed here (and checks that
 * those left out are refused).
 */
export const IMPLEMENTED: ReadonlyArray<{ type: CapabilityStatementRestResource['type']; interactions: readonly Interaction[]; profile?: string; documentation: string }> = [
  { type: 'Patient', interactions: ['read', 'search-type'], documentation: 'Patients the caller may know: themselves, their organization’s (ADMIN), those whose records they may read' },
  {
    type: 'DocumentReference',
    interactions: ['read', 'search-type', 'create'],
    documentation: 'One per stored record version (id <recordId>-<version>); create takes an inline attachment (base64) up to the inline limit',
  },
  {
    type: 'Consent',
    interactions: ['read', 'search-type', 'create'],
    documentation: 'The patient’s own signed consents (permit provisions); create is a grant by the patient’s own session, signed with their key',
  },
  {
    type: 'Provenance',
    interactions: ['read', 'search-type'],
    documentation: 'One per stored record version (id <recordId>-<version>), targeting its DocumentReference; the ledger anchor as a source entity',
  },
  {
    type: 'AuditEvent',
    interactions: ['read', 'search-type'],
    documentation:
      'BALP-profiled (meta.profile per event): the access log (the patient their own; AUDITOR and organization ADMIN their organization’s), after IHE BALP; newest first; each event’s Merkle inclusion proof linked from its audit-batch entity',
  },
  { type: 'Binary', interactions: ['read'], documentation: 'The decrypted content of a record version (id <recordId>-<version>), streamed; base64 in JSON up to the inline limit' },
];

const SMART_SECURITY_SERVICE = 'http://terminology.hl7.org/CodeSystem/restful-security-service';

/** The server's CapabilityStatement (kind instance), for `GET /fhir/R4/metadata`. */
export function capabilityStatement(baseUrl: string, software: { name: string; version: string }, published: Date): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: published.toISOString(),
    kind: 'instance',
    software,
    implementation: { description: 'HealthLedger FHIR R4 API', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        documentation: 'Bearer tokens as for the GraphQL API; errors are OperationOutcomes; unknown search parameters are refused (400) unless Prefer: handling=lenient',
        security: {
          cors: false,
          service: [{ coding: [{ system: SMART_SECURITY_SERVICE, code: 'SMART-on-FHIR' }] }],
          description: 'Authorization: Bearer <access token> (login, or a service account’s client credentials). See .well-known/smart-configuration',
        },
        resource: IMPLEMENTED.map(({ type, interactions, profile, documentation }) => ({
          type,
          ...(profile ? { supportedProfile: [profile] } : {}),
          documentation,
          interaction: interactions.map((code) => ({ code })),
          ...(type in SEARCH_PARAMETERS && interactions.includes('search-type')
            ? {
                searchParam: SEARCH_PARAMETERS[type as SearchableType].map(({ name, type: paramType, documentation: text }) => ({
                  name,
                  type: paramType,
                  documentation: text,
                })),
              }
            : {}),
        })),
      },
    ],
  };
}

const PERMISSION_OF: Partial<Record<Interaction, ScopePermission>> = { create: 'c', read: 'r', update: 'u', delete: 'd', 'search-type': 's' };

/**
 * The SMART v2 system scopes that mean something here, one per implemented resource type with the
 * permissions of its implemented interactions (c r u d s order), from the same table as the
 * CapabilityStatement.
 */
export function supportedScopes(): string[] {
  return IMPLEMENTED.map(({ type, interactions }) => {
    const granted = new Set(interactions.map((interaction) => PERMISSION_OF[interaction]));
    return `system/${type}.${SCOPE_PERMISSIONS.filter((permission) => granted.has(permission)).join('')}`;
  });
}

/** SMART App Launch 2.0 discovery (`/.well-known/smart-configuration`): the backend-services flow for service accounts. */
export function smartConfiguration(baseUrl: string) {
  return {
    issuer: baseUrl,
    token_endpoint: `${baseUrl}/auth/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post'],
    grant_types_supported: ['client_credentials'],
    scopes_supported: supportedScopes(),
    capabilities: ['client-confidential-symmetric', 'permission-v2'],
  };
}

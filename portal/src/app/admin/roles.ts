import type { Role } from '@/gql/graphql';

/** The contract's roles, for the forms and filters of the administrators' pages. */
export const ROLES: Role[] = ['PATIENT', 'DOCTOR', 'NURSE', 'LAB', 'RESEARCHER', 'AUDITOR', 'ADMIN'] as Role[];

/** The roles a service account may have (the ledger registers no other). */
export const SERVICE_ACCOUNT_ROLES: Role[] = ['DOCTOR', 'NURSE', 'LAB', 'RESEARCHER', 'AUDITOR'] as Role[];

export function roleLabel(role: string): string {
  return role.charAt(0) + role.slice(1).toLowerCase();
}

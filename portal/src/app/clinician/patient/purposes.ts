import type { PurposeOfUse } from '@/lib/api';

export const PURPOSE_LABELS: Record<PurposeOfUse, string> = {
  TREATMENT: 'Treatment',
  EMERGENCY: 'Emergency (break-glass)',
  OPERATIONS: 'Operations',
  PAYMENT: 'Payment',
  RESEARCH: 'Research',
};

/** The purposes each care role may act under (the chaincode's ROLE_PERMISSIONS; the API refuses any other). */
const ROLE_PURPOSES: Record<string, readonly PurposeOfUse[]> = {
  DOCTOR: ['TREATMENT', 'EMERGENCY', 'OPERATIONS', 'PAYMENT', 'RESEARCH'],
  NURSE: ['TREATMENT', 'EMERGENCY', 'OPERATIONS'],
  LAB: ['TREATMENT', 'OPERATIONS'],
};

export function purposesFor(role: string): readonly PurposeOfUse[] {
  return ROLE_PURPOSES[role] ?? [];
}

/** DOCTOR and NURSE may break the glass. */
export function mayBreakGlass(role: string): boolean {
  return role === 'DOCTOR' || role === 'NURSE';
}

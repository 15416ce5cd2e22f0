/** The roles the clinician pages serve (care staff who read, write and may break the glass by role). */
export const CLINICIAN_ROLES = ['DOCTOR', 'NURSE', 'LAB'] as const;

/** Where each role starts. Administrator and auditor pages are still to come (portal/README.md). */
export function roleHome(role: string): string | null {
  if (role === 'PATIENT') return '/patient/records/';
  if ((CLINICIAN_ROLES as readonly string[]).includes(role)) return '/clinician/patients/';
  return null;
}

/** The roles the clinician pages serve (care staff who read, write and may break the glass by role). */
export const CLINICIAN_ROLES = ['DOCTOR', 'NURSE', 'LAB'] as const;

/** Where each role starts (a RESEARCHER has no pages yet: the sign-in page says so). */
const HOMES: Record<string, string> = {
  PATIENT: '/patient/records/',
  ...Object.fromEntries(CLINICIAN_ROLES.map((role) => [role, '/clinician/patients/'])),
  ADMIN: '/admin/users/',
  AUDITOR: '/auditor/access-log/',
};

export function roleHome(role: string): string | null {
  return HOMES[role] ?? null;
}

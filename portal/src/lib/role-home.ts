/** Where each role starts. Clinician pages are still to come (portal/README.md). */
const HOMES: Record<string, string> = {
  PATIENT: '/patient/records/',
  ADMIN: '/admin/users/',
  AUDITOR: '/auditor/access-log/',
};

export function roleHome(role: string): string | null {
  return HOMES[role] ?? null;
}

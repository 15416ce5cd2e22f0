/** Where each role starts. Clinician and administrator pages are still to come (portal/README.md). */
export function roleHome(role: string): string | null {
  return role === 'PATIENT' ? '/patient/records/' : null;
}

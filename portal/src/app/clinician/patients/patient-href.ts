/** The clinician's page of one patient (a static page: the patient is in the query string). */
export function patientHref(patientId: string): string {
  return `/clinician/patient/?id=${encodeURIComponent(patientId)}`;
}

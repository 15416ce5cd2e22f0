/**
 * Who and what `npm run demo` creates: three organizations, their staff, three patients and their
 * records. Addresses are under `.example` (RFC 2606: never a real domain).
 */
export type DemoRole = 'ADMIN' | 'DOCTOR' | 'NURSE' | 'LAB' | 'RESEARCHER' | 'AUDITOR' | 'PATIENT';

export interface DemoPerson {
  readonly key: string;
  readonly name: string;
  readonly email: string;
  readonly role: DemoRole;
  /** The organization (a key of DEMO_ORGANIZATIONS); none: registers herself, into the patients' organization. */
  readonly organization?: string;
  /** What to try when signed in as them (printed). */
  readonly tryThis: string;
}

export const DEMO_ORGANIZATIONS = {
  riverside: 'Riverside General Hospital',
  northside: 'Northside Laboratories',
  harbor: 'Harbor Research Institute',
} as const;
export type DemoOrganization = keyof typeof DEMO_ORGANIZATIONS;

export const DEMO_PEOPLE: readonly DemoPerson[] = [
  { key: 'riversideAdmin', name: 'Rita Alvarez', email: 'rita.alvarez@riverside.example', role: 'ADMIN', organization: 'riverside', tryThis: 'creates Riverside staff, service accounts; reads its access log' },
  { key: 'grey', name: 'Dr. Meredith Grey', email: 'meredith.grey@riverside.example', role: 'DOCTOR', organization: 'riverside', tryThis: "reads Alice's notes and lab result (consent); asked Carla for access" },
  { key: 'shah', name: 'Dr. Omar Shah', email: 'omar.shah@riverside.example', role: 'DOCTOR', organization: 'riverside', tryThis: "reads Alice's lab result (request approved); broke glass for Carla" },
  { key: 'park', name: 'Nina Park', email: 'nina.park@riverside.example', role: 'NURSE', organization: 'riverside', tryThis: "wrote Bob's discharge summary (own organization's patient)" },
  { key: 'auditor', name: 'Aubrey Stone', email: 'aubrey.stone@riverside.example', role: 'AUDITOR', organization: 'riverside', tryThis: "reads Riverside's access log, exports it (GET /audit/export)" },
  { key: 'northsideAdmin', name: 'Nils Berg', email: 'nils.berg@northside-lab.example', role: 'ADMIN', organization: 'northside', tryThis: 'manages Northside staff and service accounts' },
  { key: 'ortega', name: 'Luis Ortega', email: 'luis.ortega@northside-lab.example', role: 'LAB', organization: 'northside', tryThis: "uploaded Alice's blood count (write consent to Northside)" },
  { key: 'diaz', name: 'Dr. Rosa Diaz', email: 'rosa.diaz@harbor-research.example', role: 'RESEARCHER', organization: 'harbor', tryThis: "reads Carla's imaging report for RESEARCH (X-Purpose-Of-Use: RESEARCH)" },
  { key: 'alice', name: 'Alice Moreau', email: 'alice.moreau@patients.example', role: 'PATIENT', tryThis: 'her records, consents (Dr. Grey, Northside, Dr. Shah) and access log' },
  { key: 'bob', name: 'Bob Keller', email: 'bob.keller@patients.example', role: 'PATIENT', organization: 'riverside', tryThis: "Riverside's patient: his prescription and discharge summary" },
  { key: 'carla', name: 'Carla Nguyen', email: 'carla.nguyen@patients.example', role: 'PATIENT', tryThis: "answers Dr. Grey's pending access request; sees the break-glass read" },
];

export interface DemoRecord {
  /** Who uploads it (a key of DEMO_PEOPLE) for which patient. */
  readonly author: string;
  readonly patient: string;
  readonly title: string;
  readonly category: 'CLINICAL_NOTE' | 'LAB_RESULT' | 'IMAGING' | 'PRESCRIPTION' | 'DISCHARGE_SUMMARY' | 'OTHER';
  readonly contentType: string;
  readonly content: string;
}

/** Uploaded in this order; a record's author must be allowed to write it when its turn comes. */
export const DEMO_RECORDS: readonly DemoRecord[] = [
  {
    author: 'alice',
    patient: 'alice',
    title: 'Allergies and current medication',
    category: 'CLINICAL_NOTE',
    contentType: 'text/plain',
    content: 'Allergies: penicillin (rash, 2019).\nCurrent medication: levothyroxine 50 µg once daily.\n',
  },
  {
    author: 'ortega',
    patient: 'alice',
    title: 'Complete blood count',
    category: 'LAB_RESULT',
    contentType: 'text/csv',
    content: 'analyte,value,unit,reference\nhemoglobin,13.8,g/dL,12.0-15.5\nleukocytes,6.1,10^9/L,4.0-11.0\nplatelets,245,10^9/L,150-400\n',
  },
  {
    author: 'bob',
    patient: 'bob',
    title: 'Prescription: amoxicillin',
    category: 'PRESCRIPTION',
    contentType: 'text/plain',
    content: 'Amoxicillin 500 mg, three times daily for 7 days.\n',
  },
  {
    author: 'park',
    patient: 'bob',
    title: 'Discharge summary',
    category: 'DISCHARGE_SUMMARY',
    contentType: 'text/markdown',
    content: '# Discharge summary\n\nAdmitted for community-acquired pneumonia; discharged after 3 days on oral antibiotics.\n',
  },
  {
    author: 'carla',
    patient: 'carla',
    title: 'Chest X-ray report',
    category: 'IMAGING',
    contentType: 'application/json',
    content: `${JSON.stringify({ study: 'Chest X-ray, PA and lateral', findings: 'No focal consolidation.', impression: 'Normal chest.' }, null, 2)}\n`,
  },
];

import { DemoApi, DemoStepError, type DemoSession } from './demo-api.js';
import { DEMO_ORGANIZATIONS, DEMO_PEOPLE, DEMO_RECORDS, type DemoOrganization, type DemoPerson } from './demo-cast.js';

/** What the demo made, for its summary. */
export interface DemoFilling {
  readonly organizations: number;
  readonly people: readonly DemoPerson[];
  readonly records: number;
  readonly consents: number;
  readonly accessRequests: { approved: number; pending: number };
  readonly reads: number;
  readonly refusals: number;
  readonly breakGlass: number;
}

const LOGIN = 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }';
const REGISTER = 'mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }';
const CREATE_ORGANIZATION = 'mutation($n: String!) { createOrganization(input: { name: $n }) { id } }';
const CREATE_USER = 'mutation($input: CreateUserInput!) { createUser(input: $input) { id } }';
const GRANT = 'mutation($input: GrantConsentInput!) { grantConsent(input: $input) { id } }';
const CREATE_RECORD = 'mutation($input: CreateRecordInput!) { createRecord(input: $input) { recordId uploadUrl } }';
const REQUEST_ACCESS = 'mutation($input: RequestAccessInput!) { requestAccess(input: $input) { id } }';
const RESPOND = 'mutation($id: ID!) { respondToAccessRequest(id: $id, approve: true) { status } }';
const BREAK_GLASS = 'mutation($p: ID!, $r: String!) { breakGlass(input: { patientId: $p, reason: $r }) { id } }';

type Payload = { accessToken: string; user: { id: string } };
const sessionOf = (payload: Payload): DemoSession => ({ token: payload.accessToken, userId: payload.user.id });

/**
 * Fills an empty instance through its public API, as its users would: the system administrator makes the
 * organizations and their ADMINs, each ADMIN their staff (and Riverside its patient Bob), two patients
 * register themselves; patients grant consents and upload, staff write under consent or for their own
 * organization's patient, a doctor's access request is approved and another left pending, records are
 * read (one read refused), and an ER doctor breaks glass. Every step is the API's own check: a refusal
 * where the story expects a success stops the demo with that step named.
 */
export async function fillDemo(api: DemoApi, root: { email: string; password: string }, password: string): Promise<DemoFilling> {
  const admin = sessionOf((await api.gql<{ login: Payload }>('system administrator signs in', undefined, LOGIN, { e: root.email, p: root.password })).login);

  const organizations = {} as Record<DemoOrganization, string>;
  for (const [key, name] of Object.entries(DEMO_ORGANIZATIONS) as Array<[DemoOrganization, string]>) {
    organizations[key] = (await api.gql<{ createOrganization: { id: string } }>(`create organization ${name}`, admin, CREATE_ORGANIZATION, { n: name })).createOrganization.id;
  }

  const people = new Map<string, DemoSession>();
  const signIn = async (person: DemoPerson) =>
    sessionOf((await api.gql<{ login: Payload }>(`${person.name} signs in`, undefined, LOGIN, { e: person.email, p: password })).login);
  // Organization ADMINs first (by the system administrator), then everyone else (by their organization's ADMIN, if any).
  const ordered = [...DEMO_PEOPLE].sort((a, b) => Number(b.role === 'ADMIN') - Number(a.role === 'ADMIN'));
  for (const person of ordered) {
    if (!person.organization) {
      const input = { email: person.email, password, name: person.name };
      people.set(person.key, sessionOf((await api.gql<{ register: Payload }>(`${person.name} registers`, undefined, REGISTER, { input })).register));
      continue;
    }
    const creator = person.role === 'ADMIN' ? admin : adminOf(person.organization);
    const input = { email: person.email, password, name: person.name, role: person.role, organizationId: organizations[person.organization as DemoOrganization] };
    await api.gql(`create ${person.role} ${person.name}`, creator, CREATE_USER, { input });
    people.set(person.key, await signIn(person));
  }
  /** The organization's ADMIN; the system administrator where the cast has none (the research institute). */
  function adminOf(organization: string): DemoSession {
    const organizationAdmin = DEMO_PEOPLE.find((person) => person.role === 'ADMIN' && person.organization === organization);
    return organizationAdmin ? people.get(organizationAdmin.key)! : admin;
  }
  const as = (key: string) => people.get(key)!;

  // Consents, each signed by the patient in session.
  const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
  const grants = [
    { patient: 'alice', step: 'Alice lets Dr. Grey read her notes and lab results', input: { granteeId: as('grey').userId, categories: ['CLINICAL_NOTE', 'LAB_RESULT'], actions: ['READ'], purposes: ['TREATMENT'], validUntil: inDays(180) } },
    { patient: 'alice', step: 'Alice lets Northside Laboratories write lab results', input: { granteeOrganizationId: organizations.northside, categories: ['LAB_RESULT'], actions: ['WRITE'], purposes: ['TREATMENT'] } },
    { patient: 'carla', step: 'Carla lets Harbor Research Institute read imaging for research', input: { granteeOrganizationId: organizations.harbor, categories: ['IMAGING'], actions: ['READ'], purposes: ['RESEARCH'], validUntil: inDays(365) } },
  ];
  for (const grant of grants) await api.gql(grant.step, as(grant.patient), GRANT, { input: grant.input });

  // Records, uploaded for real: encrypted, stored and anchored like any upload.
  const recordIds = new Map<string, string>();
  for (const record of DEMO_RECORDS) {
    const step = `${DEMO_PEOPLE.find((person) => person.key === record.author)!.name} uploads "${record.title}"`;
    const input = { patientId: as(record.patient).userId, title: record.title, category: record.category, contentType: record.contentType };
    const { createRecord } = await api.gql<{ createRecord: { recordId: string; uploadUrl: string } }>(step, as(record.author), CREATE_RECORD, { input });
    await api.upload(step, createRecord.uploadUrl, Buffer.from(record.content, 'utf8'));
    recordIds.set(record.title, createRecord.recordId);
  }
  const recordId = (title: string) => recordIds.get(title)!;

  // Access requests: Dr. Shah's approved by Alice (a consent), Dr. Grey's to Carla left for Carla to answer.
  const shahRequest = await api.gql<{ requestAccess: { id: string } }>('Dr. Shah asks Alice for her lab results', as('shah'), REQUEST_ACCESS, {
    input: { patientId: as('alice').userId, categories: ['LAB_RESULT'], purpose: 'TREATMENT', reason: 'Follow-up of the blood count before surgery', validUntil: inDays(30) },
  });
  await api.gql('Alice approves Dr. Shah’s request', as('alice'), RESPOND, { id: shahRequest.requestAccess.id });
  await api.gql('Dr. Grey asks Carla for her notes and imaging', as('grey'), REQUEST_ACCESS, {
    input: { patientId: as('carla').userId, categories: ['CLINICAL_NOTE', 'IMAGING'], purpose: 'TREATMENT', reason: 'Referral for a persistent cough' },
  });

  // Reads under consent and under the approved request, one refusal, and a break-glass read.
  const reads: Array<[string, string, string, string?]> = [
    ['Dr. Grey reads Alice’s note', 'grey', 'Allergies and current medication'],
    ['Dr. Grey reads Alice’s blood count', 'grey', 'Complete blood count'],
    ['Dr. Shah reads Alice’s blood count', 'shah', 'Complete blood count'],
    ['Dr. Diaz reads Carla’s X-ray report for research', 'diaz', 'Chest X-ray report', 'RESEARCH'],
  ];
  for (const [step, reader, title, purpose] of reads) await readExpecting(api, step, as(reader), recordId(title), title, purpose);
  let refusals = 0;
  try {
    await api.download('Dr. Shah tries Carla’s X-ray report without consent', as('shah'), recordId('Chest X-ray report'));
    throw new DemoStepError('Dr. Shah tries Carla’s X-ray report without consent', 'GRANTED', 'expected a refusal');
  } catch (error) {
    if (!(error instanceof DemoStepError) || error.code !== 'FORBIDDEN') throw error;
    refusals++;
  }
  await api.gql('Dr. Shah breaks glass for Carla', as('shah'), BREAK_GLASS, { p: as('carla').userId, r: 'Unresponsive on arrival in the emergency room' });
  await readExpecting(api, 'Dr. Shah reads Carla’s X-ray report in an emergency', as('shah'), recordId('Chest X-ray report'), 'Chest X-ray report', 'EMERGENCY');

  return {
    organizations: Object.keys(organizations).length,
    people: DEMO_PEOPLE,
    records: DEMO_RECORDS.length,
    consents: grants.length + 1,
    accessRequests: { approved: 1, pending: 1 },
    reads: reads.length + 1,
    refusals,
    breakGlass: 1,
  };
}

/** Downloads a record and checks that the bytes are the ones uploaded. */
async function readExpecting(api: DemoApi, step: string, session: DemoSession, recordId: string, title: string, purpose?: string): Promise<void> {
  const bytes = await api.download(step, session, recordId, purpose);
  const expected = DEMO_RECORDS.find((record) => record.title === title)!.content;
  if (bytes.toString('utf8') !== expected) throw new DemoStepError(step, 'MISMATCH', 'the downloaded bytes differ from the upload');
}

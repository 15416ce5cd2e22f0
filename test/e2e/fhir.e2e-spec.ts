import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMPLEMENTED } from '../../src/fhir/capability-statement.js';
import { SEARCH_PARAMETERS } from '../../src/fhir/search-parameters.js';
import { fhirProblems } from '../support/fhir-validator.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = { email: 'root@example.org', password: 'supervisor passphrase 42' };
const PASSWORD = 'a long enough passphrase';
const CATEGORY_SYSTEM = 'https://healthledger.dev/fhir/CodeSystem/record-category';
const FHIR_JSON = 'application/fhir+json';

interface Auth {
  accessToken: string;
  user: { id: string };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** A well-formed id that is not `id` (its last digit changed), for "refused alike whether it exists or not". */
const anotherUuid = (id: string): string => `${id.slice(0, 35)}${id.endsWith('0') ? '1' : '0'}`;

describe('FHIR R4 API', () => {
  let t: TestApp;
  let counter = 0;
  let root: Auth;
  let hospitalId: string;
  let hospitalAdmin: Auth;
  let patient: Auth;
  let otherPatient: Auth;
  let doctor: Auth;
  let strangerDoctor: Auth;
  let otherOrganizationDoctor: Auth;
  let lab: { token: string };
  let labReader: { token: string };

  const gql = async <T = Json>(auth: Auth | string | null, query: string, variables: Record<string, unknown> = {}) => {
    const token = typeof auth === 'string' ? auth : auth?.accessToken;
    const { body } = await t.graphql<T>(query, variables, token ? { authorization: `Bearer ${token}` } : {});
    if (body.errors?.length) throw new Error(`GraphQL ${body.errors[0]!.extensions.code}: ${body.errors[0]!.message}`);
    return body.data!;
  };
  const login = async (email: string, password = PASSWORD): Promise<Auth> =>
    (await gql<{ login: Auth }>(null, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }', { e: email, p: password })).login;
  const createUser = async (admin: Auth, role: string, organizationId = hospitalId) => {
    const email = `${role.toLowerCase()}${++counter}@example.org`;
    await gql(admin, 'mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', { i: { email, password: PASSWORD, name: `A ${role} ${counter}`, role, organizationId } });
    return login(email);
  };
  const serviceAccount = async (scopes: string[], role = 'LAB') => {
    const created = await gql(hospitalAdmin, 'mutation($i: CreateServiceAccountInput!) { createServiceAccount(input: $i) { clientId clientSecret } }', {
      i: { name: `Lab ${++counter}`, role, scopes },
    });
    const { clientId, clientSecret } = created.createServiceAccount;
    // The SMART token endpoint a FHIR client finds through .well-known/smart-configuration.
    const smart: Json = await (await fetch(`${t.url}/fhir/R4/.well-known/smart-configuration`)).json();
    const form = (secret: string) => new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret });
    expectOutcome(await fhirAnswer(await fetch(smart.token_endpoint, { method: 'POST', body: form('wrong secret') })), 401, 'login');
    const answer = await fetch(smart.token_endpoint, { method: 'POST', body: form(clientSecret) });
    expect(answer.status).toBe(200);
    const token: Json = await answer.json();
    expect(token).toMatchObject({ token_type: 'bearer', scope: scopes.join(' '), expires_in: expect.any(Number) });
    return { token: token.access_token as string };
  };
  const grant = async (input: Record<string, unknown>) =>
    (await gql(patient, 'mutation($i: GrantConsentInput!) { grantConsent(input: $i) { id } }', { i: { actions: ['READ'], purposes: ['TREATMENT'], ...input } })).grantConsent
      .id as string;

  /** A FHIR request; the answer's body parsed when it is JSON. */
  const fhir = async (
    auth: Auth | string | null,
    path: string,
    init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; type: string; body: Json; bytes: Buffer; headers: Headers }> => {
    const token = typeof auth === 'string' ? auth : auth?.accessToken;
    const response = await fetch(`${t.url}/fhir/R4/${path}`, {
      method: init.method ?? 'GET',
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(init.body !== undefined ? { 'content-type': FHIR_JSON } : {}),
        ...init.headers,
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    return fhirAnswer(response);
  };
  const fhirAnswer = async (response: Response) => {
    const bytes = Buffer.from(await response.arrayBuffer());
    const type = response.headers.get('content-type') ?? '';
    return { status: response.status, type, bytes, headers: response.headers, body: /json/.test(type) ? JSON.parse(bytes.toString('utf8')) : undefined };
  };
  /** Every FHIR answer validates; a refusal is an OperationOutcome with this status and issue code. */
  const expectValid = (resource: unknown) => expect(fhirProblems(resource)).toEqual([]);
  const expectOutcome = (answer: { status: number; type: string; body: Json }, status: number, code: string) => {
    expect(answer.status).toBe(status);
    expect(answer.type).toContain(FHIR_JSON);
    expect(answer.body.resourceType).toBe('OperationOutcome');
    expect(answer.body.issue[0].code).toBe(code);
    expectValid(answer.body);
  };

  const labBundle = (patientId: string, content: Buffer, title = 'Blood panel') => ({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: 'urn:uuid:4b6a8c1e-0f4f-4c55-9a57-1e7d3b0f0001',
        resource: {
          resourceType: 'DocumentReference',
          status: 'current',
          subject: { reference: `Patient/${patientId}` },
          category: [{ coding: [{ system: CATEGORY_SYSTEM, code: 'LAB_RESULT' }] }],
          content: [{ attachment: { contentType: 'text/plain', title, url: 'urn:uuid:4b6a8c1e-0f4f-4c55-9a57-1e7d3b0f0002' } }],
        },
        request: { method: 'POST', url: 'DocumentReference' },
      },
      {
        fullUrl: 'urn:uuid:4b6a8c1e-0f4f-4c55-9a57-1e7d3b0f0002',
        resource: { resourceType: 'Binary', contentType: 'text/plain', data: content.toString('base64') },
        request: { method: 'POST', url: 'Binary' },
      },
    ],
  });
  /** A lab result pushed as a transaction Bundle; its DocumentReference id. */
  const pushLabResult = async (content: Buffer, patientId = patient.user.id): Promise<string> => {
    const answer = await fhir(lab.token, '', { method: 'POST', body: labBundle(patientId, content) });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expectValid(answer.body);
    const location: string = answer.body.entry[0].response.location;
    expect(location).toMatch(/^DocumentReference\/[0-9a-f-]{36}-1$/);
    return location.split('/')[1]!;
  };

  beforeAll(async () => {
    // Loading the validator blocks the event loop for seconds: before the app, so no kept-alive connection goes stale meanwhile.
    fhirProblems({ resourceType: 'Basic', code: { text: 'warm up the validator' } });
    t = await startTestApp({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    root = await login(ADMIN.email, ADMIN.password);
    hospitalId = (await gql(root, 'mutation { createOrganization(input: { name: "St. Example" }) { id } }')).createOrganization.id;
    hospitalAdmin = await createUser(root, 'ADMIN');
    patient = await createUser(hospitalAdmin, 'PATIENT');
    otherPatient = await createUser(hospitalAdmin, 'PATIENT');
    doctor = await createUser(hospitalAdmin, 'DOCTOR');
    strangerDoctor = await createUser(hospitalAdmin, 'DOCTOR');
    lab = await serviceAccount(['records:create:LAB_RESULT']);
    labReader = await serviceAccount(['records:create:LAB_RESULT', 'records:read:LAB_RESULT']);
    const otherOrganization = (await gql(root, 'mutation { createOrganization(input: { name: "Other Clinic" }) { id } }')).createOrganization.id;
    otherOrganizationDoctor = await createUser(root, 'DOCTOR', otherOrganization);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('the validator the tests use rejects a broken resource', () => {
    expect(fhirProblems({ resourceType: 'DocumentReference', status: 'current' })).not.toEqual([]);
    expect(fhirProblems({ resourceType: 'DocumentReference', status: 'bogus', content: [{ attachment: { contentType: 'text/plain' } }] })).not.toEqual([]);
    expect(fhirProblems({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'forbidden' }] })).toEqual([]);
  });

  it('metadata: a valid CapabilityStatement listing exactly the implemented interactions and search parameters; SMART discovery', async () => {
    const answer = await fhir(null, 'metadata');
    expect(answer.status).toBe(200);
    expect(answer.type).toContain(FHIR_JSON);
    expectValid(answer.body);
    expect(answer.body.fhirVersion).toBe('4.0.1');
    const resources = answer.body.rest[0].resource as Json[];
    expect(resources.map((r) => r.type)).toEqual(IMPLEMENTED.map((r) => r.type));
    for (const resource of resources) {
      const declared = resource.interaction.some((i: Json) => i.code === 'search-type') ? SEARCH_PARAMETERS[resource.type as keyof typeof SEARCH_PARAMETERS] : undefined;
      expect(resource.searchParam?.map((p: Json) => p.name), resource.type).toEqual(declared?.map((p) => p.name));
    }

    const smart = await fhir(null, '.well-known/smart-configuration');
    expect(smart.status).toBe(200);
    expect(smart.body.grant_types_supported).toContain('client_credentials');
    expect(smart.body.scopes_supported).toEqual(expect.arrayContaining(['system/DocumentReference.crs', 'system/Binary.r', 'system/AuditEvent.rs']));
    expect(smart.body.capabilities).toContain('permission-v2');
  });

  it('every refusal is an OperationOutcome: no token, a bad token, an unknown parameter, an unknown route', async () => {
    expectOutcome(await fhir(null, 'DocumentReference?patient=Patient/' + patient.user.id), 401, 'login');
    expectOutcome(await fhir('not-a-token', 'DocumentReference?patient=' + patient.user.id), 401, 'login');
    expectOutcome(await fhir(patient, `DocumentReference?patient=${patient.user.id}&author=x`), 400, 'not-supported');
    expectOutcome(await fhir(patient, 'DocumentReference'), 400, 'value');
    expectOutcome(await fhir(patient, `DocumentReference?patient=${patient.user.id}&date=yesterday`), 400, 'value');
    expectOutcome(await fhir(patient, 'Observation'), 404, 'not-found');
  });

  it('a lab pushes a result as a transaction Bundle; the patient searches, reads it and its Binary; GraphQL reads the same bytes and verifies it', async () => {
    const content = randomBytes(3000);
    const id = await pushLabResult(content);
    const recordId = id.slice(0, 36);

    const search = await fhir(patient, `DocumentReference?patient=Patient/${patient.user.id}`);
    expect(search.status).toBe(200);
    expectValid(search.body);
    const document = search.body.entry.map((e: Json) => e.resource).find((r: Json) => r.id === id);
    expect(document).toMatchObject({
      status: 'current',
      subject: { reference: `Patient/${patient.user.id}` },
      category: [{ coding: [{ system: CATEGORY_SYSTEM, code: 'LAB_RESULT' }] }],
      content: [{ attachment: { contentType: 'text/plain', size: 3000, title: 'Blood panel', url: `${t.url}/fhir/R4/Binary/${id}` } }],
    });
    expect(document.content[0].attachment.hash).toBeUndefined();
    expect(document.identifier.map((i: Json) => i.system)).toEqual(
      expect.arrayContaining(['https://healthledger.dev/fhir/ciphertext-sha256', 'https://healthledger.dev/fhir/cid-sha256']),
    );

    const read = await fhir(patient, `DocumentReference/${id}`);
    expect(read.status).toBe(200);
    expectValid(read.body);
    expect(read.body).toEqual(document);

    const binary = await fhir(patient, `Binary/${id}`);
    expect(binary.status).toBe(200);
    expect(binary.type).toBe('text/plain');
    expect(binary.bytes.equals(content)).toBe(true);

    const asJson = await fhir(patient, `Binary/${id}`, { headers: { accept: FHIR_JSON } });
    expect(asJson.status).toBe(200);
    expectValid(asJson.body);
    expect(Buffer.from(asJson.body.data, 'base64').equals(content)).toBe(true);

    // Ranges, as content URLs serve them: one range, a suffix, and none that lies in the content.
    expect(binary.headers.get('accept-ranges')).toBe('bytes');
    const middle = await fhir(patient, `Binary/${id}`, { headers: { range: 'bytes=1000-1999' } });
    expect(middle.status).toBe(206);
    expect(middle.headers.get('content-range')).toBe(`bytes 1000-1999/${content.length}`);
    expect(middle.bytes.equals(content.subarray(1000, 2000))).toBe(true);
    const tail = await fhir(patient, `Binary/${id}`, { headers: { range: 'bytes=-10' } });
    expect(tail.status).toBe(206);
    expect(tail.bytes.equals(content.subarray(-10))).toBe(true);
    const outside = await fhir(patient, `Binary/${id}`, { headers: { range: `bytes=${content.length}-` } });
    expectOutcome(outside, 416, 'invalid');
    expect(outside.headers.get('content-range')).toBe(`bytes */${content.length}`);

    const viaGraphql = await gql(patient, 'query($id: ID!) { record(id: $id) { downloadUrl } verifyRecord(id: $id) { valid problems } }', { id: recordId });
    expect(viaGraphql.verifyRecord).toEqual({ valid: true, problems: [] });
    const download = await fetch(`${t.url}${viaGraphql.record.downloadUrl}`);
    expect(Buffer.from(await download.arrayBuffer()).equals(content)).toBe(true);
  });

  it('a GraphQL-created, amended record is readable through FHIR, one DocumentReference per version', async () => {
    const created = await gql(patient, 'mutation($i: CreateRecordInput!) { createRecord(input: $i) { recordId uploadUrl } }', {
      i: { patientId: patient.user.id, title: 'Visit note', category: 'CLINICAL_NOTE', contentType: 'text/plain' },
    });
    const put = (url: string, body: Buffer) => fetch(`${t.url}${url}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body });
    expect((await put(created.createRecord.uploadUrl, Buffer.from('first'))).status).toBe(201);
    const amended = await gql(patient, 'mutation($id: ID!) { amendRecord(recordId: $id, input: {}) { uploadUrl } }', { id: created.createRecord.recordId });
    expect((await put(amended.amendRecord.uploadUrl, Buffer.from('second'))).status).toBe(201);
    const recordId = created.createRecord.recordId;

    const search = await fhir(patient, `DocumentReference?patient=${patient.user.id}&category=${CATEGORY_SYSTEM}|CLINICAL_NOTE`);
    expectValid(search.body);
    const ids = search.body.entry.map((e: Json) => e.resource.id);
    expect(ids).toEqual([`${recordId}-2`, `${recordId}-1`]);
    expect(search.body.entry[0].resource.relatesTo).toEqual([{ code: 'replaces', target: { reference: `DocumentReference/${recordId}-1` } }]);
    expect(search.body.entry[1].resource.status).toBe('superseded');
    expect((await fhir(patient, `Binary/${recordId}-1`)).bytes.toString()).toBe('first');
    expect((await fhir(patient, `Binary/${recordId}-2`)).bytes.toString()).toBe('second');
  });

  it('declared search parameters work: category, date, _lastUpdated, _count with next links', async () => {
    await pushLabResult(randomBytes(10));
    await pushLabResult(randomBytes(10));
    const all = await fhir(patient, `DocumentReference?patient=${patient.user.id}&category=LAB_RESULT`);
    const total = all.body.entry.length;
    expect(total).toBeGreaterThanOrEqual(3);
    expect(all.body.entry.every((e: Json) => e.resource.category[0].coding[0].code === 'LAB_RESULT')).toBe(true);

    // Paging: one record per page, following next links until there are none.
    const seen: string[] = [];
    let next: string | undefined = `DocumentReference?patient=${patient.user.id}&category=LAB_RESULT&_count=1`;
    while (next) {
      const page = await fhir(patient, next);
      expect(page.status).toBe(200);
      expectValid(page.body);
      seen.push(...page.body.entry.map((e: Json) => e.resource.id));
      next = page.body.link.find((l: Json) => l.relation === 'next')?.url.replace(`${t.url}/fhir/R4/`, '');
    }
    expect(seen).toEqual(all.body.entry.map((e: Json) => e.resource.id));

    const today = new Date().toISOString().slice(0, 10);
    const sameDay = await fhir(patient, `DocumentReference?patient=${patient.user.id}&category=LAB_RESULT&date=${today}`);
    expect(sameDay.body.entry.length).toBe(total);
    const future = await fhir(patient, `DocumentReference?patient=${patient.user.id}&date=gt${today}`);
    expect(future.body.entry ?? []).toEqual([]);
    const updated = await fhir(patient, `DocumentReference?patient=${patient.user.id}&category=LAB_RESULT&_lastUpdated=ge${today}&_lastUpdated=lt2999`);
    expect(updated.body.entry.length).toBe(total);
    const past = await fhir(patient, `DocumentReference?patient=${patient.user.id}&_lastUpdated=lt2000-01-01`);
    expect(past.body.entry ?? []).toEqual([]);
    // Another system's category matches nothing.
    expect((await fhir(patient, `DocumentReference?patient=${patient.user.id}&category=http://loinc.org|11502-2`)).body.entry ?? []).toEqual([]);
    // Lenient handling ignores an unknown parameter, and the self link shows what was applied.
    const lenient = await fhir(patient, `DocumentReference?patient=${patient.user.id}&category=LAB_RESULT&author=x`, { headers: { prefer: 'handling=lenient' } });
    expect(lenient.status).toBe(200);
    expect(lenient.body.link[0].url).not.toContain('author');
  });

  it('BOLA: another patient, clinicians without, with, with revoked and with wrong-purpose consent, service accounts with and without the read scope', async () => {
    const id = await pushLabResult(randomBytes(100));
    const readable = async (auth: Auth | string, headers: Record<string, string> = {}) => {
      const read = await fhir(auth, `DocumentReference/${id}`, { headers });
      const binary = await fhir(auth, `Binary/${id}`, { headers });
      const ranged = await fhir(auth, `Binary/${id}`, { headers: { ...headers, range: 'bytes=0-9' } });
      const search = await fhir(auth, `DocumentReference?patient=${patient.user.id}`, { headers });
      // A service account without a search scope is refused the search itself.
      if (search.status === 403) expectOutcome(search, 403, 'forbidden');
      else expect(search.status).toBe(200);
      expectValid(search.body);
      const listed = (search.body.entry ?? []).some((e: Json) => e.resource.id === id);
      if (read.status === 200) {
        expectValid(read.body);
        expect(binary.status).toBe(200);
        expect(ranged.status).toBe(206);
        expect(listed).toBe(true);
        return true;
      }
      expectOutcome(read, 403, 'forbidden');
      expectOutcome(binary, 403, 'forbidden');
      expectOutcome(ranged, 403, 'forbidden');
      expect(listed).toBe(false);
      return false;
    };
    // A refusal does not tell an existing record from a missing one.
    const missing = await fhir(otherPatient, `DocumentReference/${anotherUuid(id.slice(0, 36))}-1`);
    const refused = await fhir(otherPatient, `DocumentReference/${id}`);
    expect(missing.status).toBe(refused.status);
    expect(missing.body.issue[0].diagnostics).toBe(refused.body.issue[0].diagnostics);

    expect(await readable(patient)).toBe(true);
    expect(await readable(otherPatient)).toBe(false);
    expect(await readable(strangerDoctor)).toBe(false);
    expect(await readable(lab.token)).toBe(false);
    expect(await readable(labReader.token)).toBe(false); // its scope allows reading; no consent does

    const consentId = await grant({ granteeId: doctor.user.id, categories: ['LAB_RESULT'] });
    expect(await readable(doctor)).toBe(true);
    expect(await readable(doctor, { 'x-purpose-of-use': 'RESEARCH' })).toBe(false);
    await gql(patient, 'mutation($id: ID!) { revokeConsent(id: $id) { id } }', { id: consentId });
    expect(await readable(doctor)).toBe(false);

    // Writing: another patient, a doctor of another organization without consent, a service account without the category's scope.
    const note = labBundle(patient.user.id, Buffer.from('x'));
    expectOutcome(await fhir(otherPatient, '', { method: 'POST', body: note }), 403, 'forbidden');
    expectOutcome(await fhir(otherOrganizationDoctor, '', { method: 'POST', body: note }), 403, 'forbidden');
    const imaging: Json = structuredClone(note);
    imaging.entry[0].resource.category[0].coding[0].code = 'IMAGING';
    expectOutcome(await fhir(lab.token, '', { method: 'POST', body: imaging }), 403, 'forbidden');
  });

  it('POST DocumentReference with inline data creates a record; too large inline content is refused as too-costly', async () => {
    const content = Buffer.from('inline result');
    const document = {
      resourceType: 'DocumentReference',
      status: 'current',
      subject: { reference: `Patient/${patient.user.id}` },
      category: [{ coding: [{ system: CATEGORY_SYSTEM, code: 'LAB_RESULT' }] }],
      content: [{ attachment: { contentType: 'text/plain', title: 'Potassium', data: content.toString('base64') } }],
    };
    const blind = await fhir(lab.token, 'DocumentReference', { method: 'POST', body: document });
    expect(blind.status).toBe(201);
    expectValid(blind.body);
    expect(blind.body.resourceType).toBe('OperationOutcome');
    const id = blind.headers.get('location')!.split('/').at(-1)!;
    expect((await fhir(patient, `Binary/${id}`)).bytes.equals(content)).toBe(true);

    const own = await fhir(patient, 'DocumentReference', { method: 'POST', body: document });
    expect(own.status).toBe(201);
    expectValid(own.body);
    expect(own.body.resourceType).toBe('DocumentReference');

    const tooLarge = { ...document, content: [{ attachment: { ...document.content[0]!.attachment, data: randomBytes(4 * 1024 * 1024 + 3).toString('base64') } }] };
    expectOutcome(await fhir(patient, 'DocumentReference', { method: 'POST', body: tooLarge }), 400, 'too-costly');
    expectOutcome(await fhir(patient, 'DocumentReference', { method: 'POST', body: { resourceType: 'Patient' } }), 400, 'structure');
  });

  it('AuditEvent: the patient searches their access log, BALP-profiled, by entity, agent and date, paged; others are refused; /audit/export takes since/until', async () => {
    const id = await pushLabResult(randomBytes(20));
    const recordId = id.slice(0, 36);
    await fhir(patient, `DocumentReference/${id}`);
    const own = await fhir(patient, `AuditEvent?patient=Patient/${patient.user.id}&entity=DocumentReference/${id}`);
    expect(own.status).toBe(200);
    expectValid(own.body);
    const events = own.body.entry.map((e: Json) => e.resource);
    expect(events.length).toBeGreaterThanOrEqual(2);
    for (const event of events) {
      expect(event.type).toMatchObject({ code: 'rest' });
      expect(event.meta.profile[0]).toMatch(/^https:\/\/profiles\.ihe\.net\/ITI\/BALP\/StructureDefinition\/IHE\.BasicAudit\.Patient/);
      expect(event.agent.map((a: Json) => a.type.coding[0].code)).toEqual(['110153', '110152', 'IRCP']);
      expect(event.entity.some((e: Json) => e.what.identifier?.value === recordId)).toBe(true);
    }
    const read = events.find((e: Json) => e.agent[2].who.identifier.value === patient.user.id && e.action === 'R');
    expect(read.agent[2].who.display).toMatch(/^A PATIENT/);

    const search = await fhir(patient, `AuditEvent?patient=${patient.user.id}&agent=${patient.user.id}&_count=1`);
    expectValid(search.body);
    expect(search.body.entry).toHaveLength(1);
    expect(search.body.link.find((l: Json) => l.relation === 'next')).toBeDefined();
    expect(search.body.entry[0].resource.agent[2].who.identifier.value).toBe(patient.user.id);
    const searches = await fhir(patient, `AuditEvent?agent=Patient/${patient.user.id}&_count=100`);
    expect(searches.body.entry.some((e: Json) => e.resource.action === 'E')).toBe(true);

    const today = new Date().toISOString().slice(0, 10);
    expect((await fhir(patient, `AuditEvent?date=${today}&entity=${recordId}`)).body.entry.length).toBe(events.length);
    expect((await fhir(patient, `AuditEvent?date=lt${today}&entity=${recordId}`)).body.entry ?? []).toEqual([]);

    expectOutcome(await fhir(otherPatient, `AuditEvent?patient=${patient.user.id}`), 403, 'forbidden');
    expectOutcome(await fhir(doctor, `AuditEvent?patient=${patient.user.id}`), 403, 'forbidden');
    expectOutcome(await fhir(lab.token, 'AuditEvent'), 403, 'forbidden');
    expectOutcome(await fhir(patient, 'AuditEvent?action=R'), 400, 'not-supported');

    const exported = async (query: string) => {
      const response = await fetch(`${t.url}/audit/export?format=ndjson&recordId=${recordId}${query}`, { headers: { authorization: `Bearer ${patient.accessToken}` } });
      expect(response.status).toBe(200);
      return (await response.text()).split('\n').filter(Boolean).length;
    };
    const all = await exported('');
    expect(all).toBe(events.length);
    expect(await exported(`&since=${new Date(Date.now() + 60_000).toISOString()}`)).toBe(0);
    expect(await exported(`&until=${new Date(Date.now() + 60_000).toISOString()}&since=2000-01-01T00:00:00Z`)).toBe(all);
  });

  it('BOLA: SMART v2 system scopes limit a service account per interaction, on top of consent (a scope never grants what consent does not)', async () => {
    const id = await pushLabResult(randomBytes(50));
    const accounts = {
      all: await serviceAccount(['system/DocumentReference.crs', 'system/Binary.r']),
      searchOnly: await serviceAccount(['system/DocumentReference.s']),
      binaryOnly: await serviceAccount(['system/Binary.r']),
      createOnly: await serviceAccount(['system/DocumentReference.c']),
      otherCategory: await serviceAccount(['system/DocumentReference.crs?category=IMAGING', 'system/Binary.r?category=IMAGING']),
      legacy: await serviceAccount(['records:read:LAB_RESULT', 'records:create:LAB_RESULT']),
      auditOnly: await serviceAccount(['system/AuditEvent.rs']),
    };
    type Outcome = { read: number; search: 'listed' | 'unlisted' | number; binary: number; create: number };
    const outcome = async (token: string): Promise<Outcome> => {
      const read = await fhir(token, `DocumentReference/${id}`);
      const search = await fhir(token, `DocumentReference?patient=${patient.user.id}`);
      const binary = await fhir(token, `Binary/${id}`);
      const create = await fhir(token, '', { method: 'POST', body: labBundle(patient.user.id, Buffer.from('scoped')) });
      for (const answer of [read, search, binary, create]) {
        if (answer.status === 403) expectOutcome(answer, 403, 'forbidden');
        else if (answer.body) expectValid(answer.body);
      }
      const listed = search.status === 200 ? ((search.body.entry ?? []).some((e: Json) => e.resource.id === id) ? 'listed' : 'unlisted') : search.status;
      return { read: read.status, search: listed, binary: binary.status, create: create.status };
    };
    const consentId = await grant({ granteeOrganizationId: hospitalId, categories: ['LAB_RESULT'] });
    try {
      expect(await outcome(accounts.all.token)).toEqual({ read: 200, search: 'listed', binary: 200, create: 200 });
      expect(await outcome(accounts.legacy.token)).toEqual({ read: 200, search: 'listed', binary: 200, create: 200 });
      expect(await outcome(accounts.searchOnly.token)).toEqual({ read: 403, search: 'listed', binary: 403, create: 403 });
      expect(await outcome(accounts.binaryOnly.token)).toEqual({ read: 403, search: 403, binary: 200, create: 403 });
      expect(await outcome(accounts.createOnly.token)).toEqual({ read: 403, search: 403, binary: 403, create: 200 });
      expect(await outcome(accounts.otherCategory.token)).toEqual({ read: 403, search: 'unlisted', binary: 403, create: 403 });
      expect(await outcome(accounts.auditOnly.token)).toEqual({ read: 403, search: 403, binary: 403, create: 403 });
      // AuditEvent needs its scope, and then the audit log's own visibility (a LAB sees none).
      expectOutcome(await fhir(accounts.all.token, 'AuditEvent'), 403, 'forbidden');
      expectOutcome(await fhir(accounts.auditOnly.token, 'AuditEvent'), 403, 'forbidden');
    } finally {
      await gql(patient, 'mutation($id: ID!) { revokeConsent(id: $id) { id } }', { id: consentId });
    }
    // Without the consent the same scopes read nothing; creating for the organization's patient stays the policy's.
    expect(await outcome(accounts.all.token)).toEqual({ read: 403, search: 'unlisted', binary: 403, create: 200 });
  });

  it('the SMART token endpoint narrows a token to the scopes asked for, and refuses a scope the account does not hold', async () => {
    const created = await gql(hospitalAdmin, 'mutation($i: CreateServiceAccountInput!) { createServiceAccount(input: $i) { clientId clientSecret } }', {
      i: { name: `Lab ${++counter}`, role: 'LAB', scopes: ['system/DocumentReference.c', 'system/Binary.r'] },
    });
    const { clientId, clientSecret } = created.createServiceAccount;
    const token = (scope: string) =>
      fetch(`${t.url}/fhir/R4/auth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope }) });
    const narrowed = await token('system/Binary.r');
    expect(narrowed.status).toBe(200);
    const body: Json = await narrowed.json();
    expect(body.scope).toBe('system/Binary.r');
    // The narrowed token may not create, though the account may.
    expectOutcome(await fhir(body.access_token, '', { method: 'POST', body: labBundle(patient.user.id, Buffer.from('x')) }), 403, 'forbidden');
    expectOutcome(await fhirAnswer(await token('system/DocumentReference.cruds')), 400, 'invalid');
    const refused = await gql(hospitalAdmin, 'mutation($i: CreateServiceAccountInput!) { createServiceAccount(input: $i) { clientId } }', {
      i: { name: 'Bad', role: 'LAB', scopes: ['system/DocumentReference.rc'] },
    }).catch((error: Error) => error.message);
    expect(refused).toMatch(/^GraphQL BAD_USER_INPUT: unknown scopes: system\/DocumentReference\.rc/);
  });

  it('Patient: read and search by _id, identifier and email, only by whoever may know the patient; refusal looks like absence', async () => {
    const email: string = (await gql(patient, '{ me { email } }')).me.email;
    const id = patient.user.id;
    const knows = async (auth: Auth | string): Promise<boolean> => {
      const read = await fhir(auth, `Patient/${id}`);
      const searches = await Promise.all(
        [`_id=${id}`, `identifier=https://healthledger.dev/fhir/patient-id|${id}`, `email=${encodeURIComponent(email.toUpperCase())}`, `_id=${id}&identifier=${id}`].map((q) => fhir(auth, `Patient?${q}`)),
      );
      const found = searches.map((search) => {
        if (search.status === 403) {
          expectOutcome(search, 403, 'forbidden');
          return false;
        }
        expect(search.status).toBe(200);
        expectValid(search.body);
        return (search.body.entry ?? []).some((e: Json) => e.resource.id === id);
      });
      if (read.status === 200) {
        expectValid(read.body);
        expect(read.body).toMatchObject({ resourceType: 'Patient', id, identifier: [{ system: 'https://healthledger.dev/fhir/patient-id', value: id }], name: [{ text: expect.stringMatching(/^A PATIENT/) }] });
        expect(found).toEqual([true, true, true, true]);
        return true;
      }
      expectOutcome(read, 403, 'forbidden');
      expect(found).toEqual([false, false, false, false]);
      return false;
    };
    const missing = await fhir(otherPatient, `Patient/${anotherUuid(id)}`);
    const refused = await fhir(otherPatient, `Patient/${id}`);
    expect([missing.status, missing.body.issue[0].diagnostics]).toEqual([refused.status, refused.body.issue[0].diagnostics]);

    expect(await knows(patient)).toBe(true);
    expect(await knows(otherPatient)).toBe(false);
    expect(await knows(hospitalAdmin)).toBe(true); // reads the organization's users
    expect(await knows(root)).toBe(true); // system administrator
    expect(await knows(strangerDoctor)).toBe(true); // cares for the organization's patients (own-organization writes)
    expect(await knows(otherOrganizationDoctor)).toBe(false);
    const consentId = await grant({ granteeId: otherOrganizationDoctor.user.id, categories: ['IMAGING'] });
    expect(await knows(otherOrganizationDoctor)).toBe(true);
    await gql(patient, 'mutation($id: ID!) { revokeConsent(id: $id) { id } }', { id: consentId });
    expect(await knows(otherOrganizationDoctor)).toBe(false);
    expect(await knows(lab.token)).toBe(false); // no Patient scope
    // A service account knows the patients its record scopes reach (here: writing for its organization's patients).
    expect(await knows((await serviceAccount(['system/Patient.rs', 'system/DocumentReference.c'])).token)).toBe(true);
    expect(await knows((await serviceAccount(['system/Patient.rs'])).token)).toBe(false);

    // Each answer about the patient is in their access log: granted to the doctor, denied to the other patient.
    const logged = async (agent: Auth) =>
      ((await fhir(patient, `AuditEvent?patient=${id}&agent=${agent.user.id}&_count=100`)).body.entry ?? [])
        .map((e: Json) => e.resource)
        .filter((e: Json) => !e.entity.some((entity: Json) => entity.what.identifier?.system === 'https://healthledger.dev/fhir/record-id'));
    const doctorsLookups = await logged(strangerDoctor);
    expect(doctorsLookups.map((e: Json) => [e.action, e.outcome])).toEqual(expect.arrayContaining([['R', '0'], ['E', '0']]));
    expect((await logged(otherPatient)).some((e: Json) => e.outcome === '4' && e.outcomeDesc === 'DENIED: MAY_NOT_KNOW_PATIENT')).toBe(true);

    // Another system's identifier names nobody; a search names someone.
    expect((await fhir(patient, `Patient?identifier=http://example.org/mrn|${id}`)).body.entry ?? []).toEqual([]);
    expect((await fhir(patient, `Patient?_id=${id}&identifier=${otherPatient.user.id}`)).body.entry ?? []).toEqual([]);
    expectOutcome(await fhir(patient, 'Patient'), 400, 'value');
  });

  it('Consent: the patient reads and searches their signed consents (status, actor), mapped into provision; grants one by POST; anyone else is refused', async () => {
    const recordId = (await pushLabResult(randomBytes(30))).slice(0, 36);
    const viaGraphql = await grant({ granteeId: doctor.user.id, categories: ['LAB_RESULT'], recordIds: [recordId], actions: ['READ', 'WRITE'], purposes: ['TREATMENT', 'RESEARCH'] });
    const later = new Date(Date.now() + 3_600_000);
    const future = await grant({ granteeOrganizationId: hospitalId, categories: ['IMAGING'], validFrom: later.toISOString() });

    const read = await fhir(patient, `Consent/${viaGraphql}`);
    expect(read.status).toBe(200);
    expectValid(read.body);
    expect(read.body).toMatchObject({
      resourceType: 'Consent',
      id: viaGraphql,
      status: 'active',
      patient: { reference: `Patient/${patient.user.id}` },
      verification: [{ verified: true }],
      provision: {
        type: 'permit',
        actor: [{ reference: { type: 'Practitioner', identifier: { value: doctor.user.id } } }],
        purpose: [
          { system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'TREAT' },
          { system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HRESCH' },
        ],
        code: [{ coding: [{ system: CATEGORY_SYSTEM, code: 'LAB_RESULT' }] }],
        data: [{ meaning: 'instance', reference: { type: 'DocumentReference', identifier: { system: 'https://healthledger.dev/fhir/record-id', value: recordId } } }],
      },
    });
    expect(read.body.provision.action[0].coding.map((c: Json) => c.code)).toEqual(['access', 'use', 'collect']);
    expect(read.body.provision.period.end).toBeDefined();
    expect(read.body.identifier.map((i: Json) => i.system)).toContain('https://healthledger.dev/fhir/ledger-tx');
    expect(read.body.extension[0]).toMatchObject({ url: 'https://healthledger.dev/fhir/StructureDefinition/consent-signature', valueString: expect.any(String) });

    const ids = async (query: string) => {
      const answer = await fhir(patient, `Consent?patient=Patient/${patient.user.id}${query}`);
      expect(answer.status).toBe(200);
      expectValid(answer.body);
      return (answer.body.entry ?? []).map((e: Json) => e.resource.id);
    };
    expect(await ids('')).toEqual(expect.arrayContaining([viaGraphql, future]));
    expect(await ids('&status=proposed')).toEqual([future]);
    expect(await ids('&status=active')).toContain(viaGraphql);
    expect(await ids('&status=active')).not.toContain(future);
    const organizationGrants = await ids(`&actor=Organization/${hospitalId}`);
    expect(organizationGrants).toContain(future);
    expect(organizationGrants).not.toContain(viaGraphql);
    expect(await ids(`&actor=Organization/${hospitalId}&status=proposed`)).toEqual([future]);
    expect(await ids(`&actor=Practitioner/${doctor.user.id}&status=http://hl7.org/fhir/consent-state-codes|active`)).toContain(viaGraphql);
    expect(await ids('&status=http://example.org|active')).toEqual([]);
    expectOutcome(await fhir(patient, `Consent?patient=${patient.user.id}&status=draft`), 400, 'value');

    // Refused alike whether the consent exists or not; others may not list the patient's consents.
    for (const other of [otherPatient, doctor, hospitalAdmin]) {
      expectOutcome(await fhir(other, `Consent/${viaGraphql}`), 403, 'forbidden');
      expectOutcome(await fhir(other, `Consent?patient=${patient.user.id}`), 403, 'forbidden');
    }
    expectOutcome(await fhir(patient, `Consent/${anotherUuid(viaGraphql)}`), 403, 'forbidden');
    expectOutcome(await fhir(labReader.token, `Consent?patient=${patient.user.id}`), 403, 'forbidden');

    // A grant through FHIR: the patient's own session signs it; the doctor then reads the record.
    const body = {
      resourceType: 'Consent',
      status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      patient: { reference: `Patient/${patient.user.id}` },
      policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
      provision: {
        type: 'permit',
        actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: `Practitioner/${strangerDoctor.user.id}` } }],
        action: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'access' }] }],
        purpose: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'TREAT' }],
        data: [{ meaning: 'instance', reference: { reference: `DocumentReference/${recordId}-1` } }],
      },
    };
    expectValid(body);
    expect((await fhir(strangerDoctor, `DocumentReference/${recordId}-1`)).status).toBe(403);
    for (const other of [strangerDoctor, otherPatient, labReader.token]) expectOutcome(await fhir(other, 'Consent', { method: 'POST', body }), 403, 'forbidden');
    const created = await fhir(patient, 'Consent', { method: 'POST', body });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expectValid(created.body);
    expect(created.headers.get('location')).toBe(`${t.url}/fhir/R4/Consent/${created.body.id}`);
    expect(created.body.provision).toMatchObject({ actor: [{ reference: { identifier: { value: strangerDoctor.user.id } } }], data: [{ reference: { identifier: { value: recordId } } }] });
    expect((await fhir(strangerDoctor, `DocumentReference/${recordId}-1`)).status).toBe(200);
    const viaGraphqlList = await gql(patient, 'query($p: ID!) { consents(patientId: $p) { edges { node { id actions purposes recordIds } } } }', { p: patient.user.id });
    expect(viaGraphqlList.consents.edges.find((e: Json) => e.node.id === created.body.id)?.node).toEqual({ id: created.body.id, actions: ['READ'], purposes: ['TREATMENT'], recordIds: [recordId] });
    expectOutcome(await fhir(patient, 'Consent', { method: 'POST', body: { ...body, patient: { reference: `Patient/${otherPatient.user.id}` } } }), 403, 'forbidden');
    expectOutcome(await fhir(patient, 'Consent', { method: 'POST', body: { ...body, provision: { ...body.provision, purpose: [{ system: 'x', code: 'TREAT' }] } } }), 400, 'structure');

    await gql(patient, 'mutation($id: ID!) { revokeConsent(id: $id) { id } }', { id: created.body.id });
    await gql(patient, 'mutation($id: ID!) { revokeConsent(id: $id) { id } }', { id: future });
    await gql(patient, 'mutation($id: ID!) { revokeConsent(id: $id) { id } }', { id: viaGraphql });
    expect(await ids('&status=inactive')).toEqual(expect.arrayContaining([viaGraphql, future, created.body.id]));
  });

  it('Provenance: one per record version, targeting its DocumentReference, the ledger anchor as source entity; read and search by target, as the record is', async () => {
    const created = await gql(patient, 'mutation($i: CreateRecordInput!) { createRecord(input: $i) { recordId uploadUrl } }', {
      i: { patientId: patient.user.id, title: 'Discharge', category: 'CLINICAL_NOTE', contentType: 'text/plain' },
    });
    const recordId = created.createRecord.recordId;
    const put = (url: string, body: string) => fetch(`${t.url}${url}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body });
    expect((await put(created.createRecord.uploadUrl, 'one')).status).toBe(201);
    const amended = await gql(patient, 'mutation($id: ID!) { amendRecord(recordId: $id, input: {}) { uploadUrl } }', { id: recordId });
    expect((await put(amended.amendRecord.uploadUrl, 'two')).status).toBe(201);
    const versions = (await gql(patient, 'query($id: ID!) { record(id: $id) { versions { version ledgerTxId } } }', { id: recordId })).record.versions;

    const read = await fhir(patient, `Provenance/${recordId}-2`);
    expect(read.status).toBe(200);
    expectValid(read.body);
    expect(read.body).toMatchObject({
      resourceType: 'Provenance',
      id: `${recordId}-2`,
      target: [{ reference: `DocumentReference/${recordId}-2` }],
      activity: { coding: [{ code: 'UPDATE' }] },
      entity: [
        { role: 'source', what: { identifier: { system: 'https://healthledger.dev/fhir/ledger-tx', value: versions.find((v: Json) => v.version === 2).ledgerTxId } } },
        { role: 'revision', what: { reference: `DocumentReference/${recordId}-1` } },
      ],
    });
    expect(read.body.entity[0].extension[0].extension.map((e: Json) => e.url)).toEqual(['ciphertextSha256', 'cidSha256']);

    const all = await fhir(patient, `Provenance?target=${recordId}`);
    expectValid(all.body);
    expect(all.body.entry.map((e: Json) => e.resource.id)).toEqual([`${recordId}-2`, `${recordId}-1`]);
    expect(all.body.entry[1].resource.agent[0]).toMatchObject({ type: { coding: [{ code: 'author' }] }, who: { identifier: { value: patient.user.id } } });
    const one = await fhir(patient, `Provenance?target=DocumentReference/${recordId}-1`);
    expect(one.body.entry.map((e: Json) => e.resource.id)).toEqual([`${recordId}-1`]);

    for (const other of [otherPatient, strangerDoctor]) {
      expectOutcome(await fhir(other, `Provenance/${recordId}-1`), 403, 'forbidden');
      expectOutcome(await fhir(other, `Provenance?target=${recordId}`), 403, 'forbidden');
    }
    expectOutcome(await fhir(patient, `Provenance/${recordId}-9`), 403, 'forbidden');
    expectOutcome(await fhir(patient, 'Provenance'), 400, 'value');
    // A service account needs the Provenance scope, and a record read scope the consent then decides on.
    const consentId = await grant({ granteeOrganizationId: hospitalId, categories: ['CLINICAL_NOTE'] });
    try {
      expect((await fhir((await serviceAccount(['system/Provenance.rs', 'system/DocumentReference.r'])).token, `Provenance/${recordId}-1`)).status).toBe(200);
      expectOutcome(await fhir((await serviceAccount(['system/DocumentReference.rs'])).token, `Provenance/${recordId}-1`), 403, 'forbidden');
      expectOutcome(await fhir((await serviceAccount(['system/Provenance.rs'])).token, `Provenance/${recordId}-1`), 403, 'forbidden');
    } finally {
      await gql(patient, 'mutation($id: ID!) { revokeConsent(id: $id) { id } }', { id: consentId });
    }
  });

  it('BOLA: consent that has expired or is not yet valid opens nothing (read, search, Binary, Patient)', async () => {
    const id = await pushLabResult(randomBytes(40));
    const reach = async (auth: Auth) => ({
      read: (await fhir(auth, `DocumentReference/${id}`)).status,
      binary: (await fhir(auth, `Binary/${id}`)).status,
      listed: ((await fhir(auth, `DocumentReference?patient=${patient.user.id}`)).body.entry ?? []).some((e: Json) => e.resource.id === id),
      patient: (await fhir(auth, `Patient/${patient.user.id}`)).status,
    });
    const closed = { read: 403, binary: 403, listed: false, patient: 403 };
    const future = await grant({ granteeId: otherOrganizationDoctor.user.id, categories: ['LAB_RESULT'], validFrom: new Date(Date.now() + 3_600_000).toISOString() });
    expect(await reach(otherOrganizationDoctor)).toEqual(closed);
    await gql(patient, 'mutation($id: ID!) { revokeConsent(id: $id) { id } }', { id: future });

    const brief = await grant({ granteeId: otherOrganizationDoctor.user.id, categories: ['LAB_RESULT'], validUntil: new Date(Date.now() + 2500).toISOString() });
    expect(await reach(otherOrganizationDoctor)).toEqual({ read: 200, binary: 200, listed: true, patient: 200 });
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await reach(otherOrganizationDoctor)).toEqual(closed);
    expect((await fhir(patient, `Consent/${brief}`)).body.status).toBe('inactive');
  });

  it('AuditEvent read by id, the Merkle inclusion proof linked from each event; the export is the same BALP mapping', async () => {
    const id = await pushLabResult(randomBytes(20));
    await fhir(patient, `DocumentReference/${id}`);
    // Wait for the event's batch: then its audit-batch entity links the proof, served once the batch's root is on the ledger.
    const proofOf = (url: string, auth: Auth = patient) => fetch(url, { headers: { authorization: `Bearer ${auth.accessToken}` } });
    let event: Json;
    let proof: Response | undefined;
    for (let attempt = 0; attempt < 100 && proof?.status !== 200; attempt++) {
      const search = await fhir(patient, `AuditEvent?entity=DocumentReference/${id}&agent=${patient.user.id}&_count=1`);
      event = search.body.entry?.[0]?.resource;
      const linked = event?.entity?.find((e: Json) => e.extension);
      proof = linked ? await proofOf(linked.extension[0].valueUrl) : undefined;
      if (proof?.status !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(proof?.status).toBe(200);
    const read = await fhir(patient, `AuditEvent/${event.id}`);
    expect(read.status).toBe(200);
    expectValid(read.body);
    expect(read.body).toEqual(event);

    const link = event.entity.find((e: Json) => e.extension)!.extension[0];
    expect(link.url).toBe('https://healthledger.dev/fhir/StructureDefinition/inclusion-proof');
    expect(link.valueUrl).toBe(`${t.url}/audit/events/${event.id}/proof`);
    const file: Json = await proof!.json();
    expect(file).toMatchObject({ event: { id: event.id }, root: expect.stringMatching(/^[0-9a-f]{64}$/), proof: expect.any(Array), treeSize: expect.any(Number), anchoredTxId: expect.any(String) });
    const viaGraphql = await gql(patient, 'query($id: ID!) { verifyAuditEvent(id: $id) { valid merkleRoot } }', { id: event.id });
    expect(viaGraphql.verifyAuditEvent).toEqual({ valid: true, merkleRoot: file.root });

    // Others: refused alike whether the event exists or not, for the event and its proof.
    for (const other of [otherPatient, doctor]) {
      expectOutcome(await fhir(other, `AuditEvent/${event.id}`), 403, 'forbidden');
      expect((await proofOf(link.valueUrl, other)).status).toBe(403);
    }
    const missing = await fhir(patient, `AuditEvent/${anotherUuid(event.id)}`);
    expect([missing.status, missing.body.issue[0].diagnostics]).toEqual([403, (await fhir(otherPatient, `AuditEvent/${event.id}`)).body.issue[0].diagnostics]);
    // An AUDITOR service account of the organization: searching needs AuditEvent.s, reading one event AuditEvent.r.
    const searcher = await serviceAccount(['system/AuditEvent.s'], 'AUDITOR');
    expect((await fhir(searcher.token, `AuditEvent?entity=${id.slice(0, 36)}`)).status).toBe(200);
    expectOutcome(await fhir(searcher.token, `AuditEvent/${event.id}`), 403, 'forbidden');
    const reader = await serviceAccount(['system/AuditEvent.rs'], 'AUDITOR');
    expect((await fhir(reader.token, `AuditEvent/${event.id}`)).body).toEqual(event);

    const exported = await fetch(`${t.url}/audit/export?format=fhir&recordId=${id.slice(0, 36)}`, { headers: { authorization: `Bearer ${patient.accessToken}` } });
    const bundle: Json = await exported.json();
    expectValid(bundle);
    expect(bundle.entry.find((e: Json) => e.resource.id === event.id).resource).toEqual(event);
  });
});

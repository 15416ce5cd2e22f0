import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createMongoAbility, subject } from '@casl/ability';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { AbilityFactory, recordSubject, type AppAbility, type RecordAttributes } from '../../src/access/ability.factory.js';
import { accessibleBy, rulesToSqlFilter, type SqlFilterOptions } from '../../src/access/casl-to-sql.js';
import type { ServiceActor, UserActor } from '../../src/common/request-context.js';
import { EmbeddedPostgres } from '../../src/database/embedded-postgres.js';

const backend = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded PGlite';
const table = `access_filter_probe_${process.pid}_${Date.now()}`;

interface Row {
  id: string;
  patient_id: string;
  patient_organization_id: string | null;
  category: string | null;
  attributes: Record<string, string>;
}

const ROWS: Row[] = [
  { id: 'r1', patient_id: 'p1', patient_organization_id: 'org-a', category: 'LAB_RESULT', attributes: { department: 'cardiology' } },
  { id: 'r2', patient_id: 'p1', patient_organization_id: 'org-a', category: 'IMAGING', attributes: {} },
  { id: 'r3', patient_id: 'p1', patient_organization_id: 'org-a', category: 'CLINICAL_NOTE', attributes: { department: 'psychiatry' } },
  { id: 'r4', patient_id: 'p2', patient_organization_id: 'org-b', category: 'LAB_RESULT', attributes: { department: 'psychiatry' } },
  { id: 'r5', patient_id: 'p2', patient_organization_id: null, category: null, attributes: {} },
  { id: 'r6', patient_id: 'p3', patient_organization_id: null, category: 'LAB_RESULT', attributes: { department: 'oncology' } },
];

const FIELDS: SqlFilterOptions = {
  alias: 'record',
  fields: {
    recordId: 'id',
    patientId: 'patient_id',
    patientOrganizationId: 'patient_organization_id',
    category: 'category',
    department: { jsonColumn: 'attributes', key: 'department' },
  },
};

/** A row as CASL sees the entity: NULL columns are null, a missing JSON key is absent. */
function asSubject(row: Row) {
  return subject('MedicalRecord', {
    recordId: row.id,
    patientId: row.patient_id,
    patientOrganizationId: row.patient_organization_id,
    category: row.category,
    ...(row.attributes.department === undefined ? {} : { department: row.attributes.department }),
  });
}

const doctor: UserActor = {
  kind: 'user',
  id: 'doctor-1',
  role: 'DOCTOR',
  organizationId: 'org-c',
  attributes: {},
  systemAdmin: false,
  tokenId: 't',
  sessionId: 's',
  sessionKey: Buffer.alloc(32),
};
const now = new Date('2030-06-15T12:00:00.000Z');
const window = { validFrom: '2030-01-01T00:00:00.000Z', validUntil: '2031-01-01T00:00:00.000Z' };

describe(`record filters pushed into SQL on ${backend}`, () => {
  let db: DataSource;
  let embedded: EmbeddedPostgres | undefined;
  let dir: string | undefined;

  beforeAll(async () => {
    if (process.env.DATABASE_URL) {
      db = new DataSource({ type: 'postgres', url: process.env.DATABASE_URL });
    } else {
      dir = await mkdtemp(path.join(os.tmpdir(), 'hl-access-filter-'));
      await cp(inject('pgliteTemplate'), path.join(dir, 'data'), { recursive: true });
      embedded = await EmbeddedPostgres.start(dir, 2);
      db = new DataSource({ type: 'postgres', ...embedded.connectionOptions, poolSize: 2 });
    }
    await db.initialize();
    await db.query(
      `CREATE TABLE ${table} (id text PRIMARY KEY, patient_id text NOT NULL, patient_organization_id text, category text, attributes jsonb NOT NULL)`,
    );
    for (const row of ROWS) {
      await db.query(`INSERT INTO ${table} VALUES ($1, $2, $3, $4, $5)`, [
        row.id,
        row.patient_id,
        row.patient_organization_id,
        row.category,
        JSON.stringify(row.attributes),
      ]);
    }
  });
  afterAll(async () => {
    if (db?.isInitialized) {
      await db.query(`DROP TABLE IF EXISTS ${table}`);
      await db.destroy();
    }
    await embedded?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The ids the database returns under the filter; the same ids CASL allows row by row. */
  async function expectSqlToMatchCasl(ability: AppAbility, action: 'read' | 'write', expected: string[]) {
    const rows: Array<{ id: string }> = await db
      .createQueryBuilder()
      .select('record.id', 'id')
      .from(table, 'record')
      .where('TRUE')
      .andWhere(accessibleBy(ability, action, 'MedicalRecord', FIELDS))
      .orderBy('record.id')
      .getRawMany();
    const allowedByCasl = ROWS.filter((row) => ability.can(action, asSubject(row) as never)).map((row) => row.id);
    expect(allowedByCasl).toEqual(expected);
    expect(rows.map((row) => row.id)).toEqual(expected);
  }

  it('lists only the records a consent or break-glass opens (category, record id, patient)', async () => {
    const ability = new AbilityFactory().createForActor({ actor: doctor, now, purpose: 'TREATMENT' }, [
      {
        consents: [
          {
            id: 'c1',
            patientId: 'p1',
            grantee: { organizationId: 'org-c' },
            scope: { recordIds: ['r2'], categories: ['LAB_RESULT'] },
            actions: ['READ'],
            purposes: ['TREATMENT'],
            status: 'ACTIVE',
            ...window,
          },
          // Revoked and expired consents open nothing.
          { id: 'c2', patientId: 'p1', grantee: { userId: 'doctor-1' }, scope: { recordIds: [], categories: ['CLINICAL_NOTE'] }, actions: ['READ'], purposes: ['TREATMENT'], status: 'REVOKED', ...window },
          { id: 'c3', patientId: 'p3', grantee: { role: 'DOCTOR' }, scope: { recordIds: [], categories: ['LAB_RESULT'] }, actions: ['READ'], purposes: ['TREATMENT'], status: 'ACTIVE', validFrom: window.validFrom, validUntil: '2030-06-01T00:00:00.000Z' },
        ],
        emergencies: [],
      },
    ]);
    await expectSqlToMatchCasl(ability, 'read', ['r1', 'r2']);
    await expectSqlToMatchCasl(ability, 'write', []);

    const breakGlass = new AbilityFactory().createForActor({ actor: doctor, now, purpose: 'EMERGENCY' }, {
      consents: [],
      emergencies: [{ id: 'e1', actorId: 'doctor-1', patientId: 'p2', grantedAt: '2030-06-15T11:00:00.000Z', expiresAt: '2030-06-15T13:00:00.000Z' }],
    });
    // r5 has no category: break-glass opens the patient's categorised records, as the policy decides per category.
    await expectSqlToMatchCasl(breakGlass, 'read', ['r4']);
  });

  it('applies a service account\'s negated scope rules like CASL, NULL columns included', async () => {
    const lab: ServiceActor = { kind: 'service', id: 'svc', role: 'LAB', organizationId: 'org-a', attributes: {}, scopes: ['records:amend:LAB_RESULT'], tokenId: 't' };
    const ability = new AbilityFactory().createForActor({ actor: lab, now, purpose: 'TREATMENT' });
    await expectSqlToMatchCasl(ability, 'write', ['r1']);
    const patientSelf: RecordAttributes = { patientId: 'p1', patientOrganizationId: 'org-a', category: 'IMAGING' };
    expect(ability.can('write', recordSubject(patientSelf))).toBe(false);
  });

  it('keeps rows whose JSON key is missing under a negated rule (SQL NULL is not "matches")', async () => {
    const ability = createMongoAbility([
      { action: 'read', subject: 'MedicalRecord' },
      { action: 'read', subject: 'MedicalRecord', inverted: true, conditions: { department: 'psychiatry' } },
      { action: 'read', subject: 'MedicalRecord', inverted: true, conditions: { department: { $ne: 'cardiology' }, patientOrganizationId: 'org-b' } },
    ]) as unknown as AppAbility;
    // r2, r5, r6: no key / NULL organization; a plain `NOT (x = 'psychiatry')` would have dropped r2 and r5.
    await expectSqlToMatchCasl(ability, 'read', ['r1', 'r2', 'r5', 'r6']);
  });

  it('filters everything out when no rule allows the action, and refuses unmapped fields', async () => {
    const nothing = new AbilityFactory().createForActor({ actor: { ...doctor, role: 'AUDITOR' }, now });
    expect(rulesToSqlFilter(nothing, 'read', 'MedicalRecord', FIELDS).sql).toBe('FALSE');
    await expectSqlToMatchCasl(nothing, 'read', []);
    const unmapped = createMongoAbility([{ action: 'read', subject: 'MedicalRecord', conditions: { ward: '3B' } }]) as unknown as AppAbility;
    expect(() => rulesToSqlFilter(unmapped, 'read', 'MedicalRecord', FIELDS)).toThrow(/no column is mapped for field "ward"/);
  });
});

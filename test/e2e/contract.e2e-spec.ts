import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// The CommonJS graphql, as in schema.e2e-spec.ts.
const { buildSchema, isObjectType, isEnumType } = createRequire(import.meta.url)('graphql') as typeof import('graphql');

/**
 * The public names partners build against (shared/contract/api.md). The schema may grow; these must
 * not disappear or change meaning. Checked against the committed schema.gql, which
 * schema.e2e-spec.ts proves equal to what the server serves.
 */
const OPERATIONS: Record<'Query' | 'Mutation', Record<string, string[]>> = {
  Mutation: {
    register: ['input'],
    login: ['email', 'password'],
    refreshToken: ['refreshToken'],
    logout: [],
    createUser: ['input'],
    createOrganization: ['input'],
    createRecord: ['input'],
    amendRecord: ['recordId', 'input'],
    grantConsent: ['input'],
    revokeConsent: ['id'],
    requestAccess: ['input'],
    respondToAccessRequest: ['id', 'approve'],
    breakGlass: ['input'],
  },
  Query: {
    me: [],
    record: ['id'],
    records: ['patientId', 'category', 'first', 'after'],
    verifyRecord: ['id', 'version'],
    consents: ['patientId', 'activeOnly'],
    accessRequests: ['status'],
    accessLog: ['patientId', 'recordId', 'first', 'after'],
    verifyAuditEvent: ['id'],
    ledgerStatus: [],
  },
};

const TYPES: Record<string, string[]> = {
  AuthPayload: ['accessToken', 'refreshToken', 'expiresAt', 'user', 'recoveryCode'],
  User: ['id', 'email', 'name', 'role', 'organization'],
  Organization: ['id', 'name'],
  RecordUpload: ['record', 'uploadUrl', 'expiresAt'],
  MedicalRecord: ['id', 'patient', 'title', 'category', 'contentType', 'size', 'version', 'status', 'cid', 'createdAt', 'createdBy', 'downloadUrl', 'versions'],
  MedicalRecordConnection: ['edges', 'pageInfo', 'totalCount'],
  RecordVerification: ['valid', 'cidMatches', 'contentHashMatches', 'anchoredAt', 'ledgerTxId', 'problems'],
  Consent: ['id', 'patient', 'grantee', 'grantedOrganization', 'recordIds', 'categories', 'actions', 'purposes', 'validFrom', 'validUntil', 'status', 'ledgerTxId', 'createdAt', 'revokedAt'],
  AccessRequest: ['id'],
  EmergencyAccess: ['id', 'patient', 'expiresAt', 'reason'],
  AccessEvent: ['id', 'actor', 'patient', 'record', 'action', 'purpose', 'decision', 'reason', 'at', 'anchored', 'batchId'],
  AccessEventActor: ['id', 'name', 'role', 'organization'],
  AccessEventConnection: ['edges', 'pageInfo', 'totalCount'],
  AuditProof: ['event', 'leafHash', 'merkleRoot', 'proof', 'treeSize', 'leafIndex', 'anchoredTxId', 'valid'],
  LedgerStatus: ['backend', 'height', 'headHash', 'verified', 'lastVerifiedAt'],
  PageInfo: ['hasNextPage', 'endCursor'],
};

const ENUMS: Record<string, string[]> = {
  Role: ['PATIENT', 'DOCTOR', 'NURSE', 'LAB', 'RESEARCHER', 'AUDITOR', 'ADMIN'],
  RecordCategory: ['CLINICAL_NOTE', 'LAB_RESULT', 'IMAGING', 'PRESCRIPTION', 'DISCHARGE_SUMMARY', 'OTHER'],
  ConsentAction: ['READ', 'WRITE'],
  Purpose: ['TREATMENT', 'EMERGENCY', 'RESEARCH', 'PAYMENT', 'OPERATIONS'],
  AccessDecision: ['GRANTED', 'DENIED', 'EMERGENCY'],
};

/**
 * Types that carry meaning of their own (issue #16: enums where enums exist, connections where lists
 * grow, sizes no 32-bit Int or fractional Float), as `Type.field` or `Type.field(arg)` → the type's name.
 */
const FIELD_TYPES: Record<string, string> = {
  'MedicalRecord.size': 'SafeInt',
  'MedicalRecordVersion.size': 'SafeInt!',
};

describe('public API contract (shared/contract/api.md)', async () => {
  const schema = buildSchema(await readFile(path.resolve('schema.gql'), 'utf8'));

  for (const [root, operations] of Object.entries(OPERATIONS)) {
    for (const [name, args] of Object.entries(operations)) {
      it(`${root}.${name}(${args.join(', ')})`, () => {
        const field = (root === 'Query' ? schema.getQueryType() : schema.getMutationType())?.getFields()[name];
        expect(field, `${root}.${name} is missing`).toBeDefined();
        expect(field!.args.map((arg) => arg.name)).toEqual(expect.arrayContaining(args));
      });
    }
  }

  for (const [typeName, fields] of Object.entries(TYPES)) {
    it(`type ${typeName} { ${fields.join(' ')} }`, () => {
      const type = schema.getType(typeName);
      expect(type && isObjectType(type), `${typeName} is missing`).toBe(true);
      expect(Object.keys((type as import('graphql').GraphQLObjectType).getFields())).toEqual(expect.arrayContaining(fields));
    });
  }

  for (const [path, typeName] of Object.entries(FIELD_TYPES)) {
    it(`${path}: ${typeName}`, () => {
      const [, owner, fieldName, argName] = /^(\w+)\.(\w+)(?:\((\w+)\))?$/.exec(path)!;
      const type = schema.getType(owner!) as import('graphql').GraphQLObjectType;
      const field = type.getFields()[fieldName!];
      expect(field, `${owner}.${fieldName} is missing`).toBeDefined();
      const typed = argName ? field!.args.find((arg) => arg.name === argName) : field;
      expect(typed, `${path} is missing`).toBeDefined();
      expect(String(typed!.type)).toBe(typeName);
    });
  }

  for (const [enumName, values] of Object.entries(ENUMS)) {
    it(`enum ${enumName}`, () => {
      const type = schema.getType(enumName);
      expect(type && isEnumType(type), `${enumName} is missing`).toBe(true);
      expect((type as import('graphql').GraphQLEnumType).getValues().map((value) => value.name)).toEqual(expect.arrayContaining(values));
    });
  }
});

import { describe, expect, it } from 'vitest';
import { parseScope, ServiceScopes } from './service-scopes.js';

const CATEGORY = 'https://healthledger.dev/fhir/CodeSystem/record-category';

describe('service account scopes (SMART v2 system scopes and their earlier names)', () => {
  it('parses SMART v2 system scopes: a type or *, permissions in c-r-u-d-s order, an optional record category', () => {
    expect(parseScope('system/DocumentReference.cruds')).toEqual([{ resource: 'DocumentReference', permissions: new Set(['c', 'r', 'u', 'd', 's']), category: null }]);
    expect(parseScope('system/*.rs')).toEqual([{ resource: '*', permissions: new Set(['r', 's']), category: null }]);
    expect(parseScope(`system/DocumentReference.c?category=${CATEGORY}|LAB_RESULT`)).toEqual([
      { resource: 'DocumentReference', permissions: new Set(['c']), category: 'LAB_RESULT' },
    ]);
    expect(parseScope('system/Binary.r?category=IMAGING')).toEqual([{ resource: 'Binary', permissions: new Set(['r']), category: 'IMAGING' }]);
  });

  it.each([
    'system/DocumentReference.rc', // out of order
    'system/DocumentReference.rr', // repeated
    'system/DocumentReference.read', // SMART v1
    'system/Observation.rs', // not served
    'patient/DocumentReference.rs', // not a system scope
    'system/DocumentReference.rs?category=http://loinc.org|LAB_RESULT',
    'system/DocumentReference.rs?category=NOPE',
    'system/AuditEvent.rs?category=LAB_RESULT', // categories are records'
    'records:write:LAB_RESULT',
    'records:read:NOPE',
    'audit:write',
    '',
  ])('refuses %s', (scope) => {
    expect(parseScope(scope)).toBeNull();
  });

  it('reads the earlier names as the SMART scopes they stand for', () => {
    expect(parseScope('records:read:LAB_RESULT')).toEqual([
      { resource: 'DocumentReference', permissions: new Set(['r', 's']), category: 'LAB_RESULT' },
      { resource: 'Binary', permissions: new Set(['r']), category: 'LAB_RESULT' },
    ]);
    expect(parseScope('records:create')).toEqual([{ resource: 'DocumentReference', permissions: new Set(['c']), category: null }]);
    expect(parseScope('records:amend:IMAGING')).toEqual([{ resource: 'DocumentReference', permissions: new Set(['u']), category: 'IMAGING' }]);
    expect(parseScope('audit:read')).toEqual([{ resource: 'AuditEvent', permissions: new Set(['r', 's']), category: null }]);
  });

  it('answers interactions and record categories from the same grants', () => {
    const lab = new ServiceScopes(['system/DocumentReference.c?category=LAB_RESULT', 'system/Binary.r?category=LAB_RESULT', 'system/Patient.rs']);
    expect(lab.allows('DocumentReference', 'c')).toBe(true);
    expect(lab.allows('DocumentReference', 'r')).toBe(false);
    expect(lab.allows('Binary', 'r')).toBe(true);
    expect(lab.allows('Patient', 's')).toBe(true);
    expect(lab.allows('AuditEvent', 's')).toBe(false);
    expect(lab.recordCategories('create')).toEqual(['LAB_RESULT']);
    expect(lab.recordCategories('read')).toEqual(['LAB_RESULT']);
    expect(lab.recordCategories('amend')).toEqual([]);

    const everything = new ServiceScopes(['system/*.cruds']);
    expect(everything.allows('Consent', 'r')).toBe(true);
    expect(everything.recordCategories('amend')).toBe('all');
    expect(new ServiceScopes(['records:read', 'not a scope']).recordCategories('read')).toBe('all');
    expect(new ServiceScopes(['not a scope']).recordCategories('read')).toEqual([]);
  });
});

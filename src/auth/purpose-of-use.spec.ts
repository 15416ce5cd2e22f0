import { describe, expect, it } from 'vitest';
import type { Actor } from '../common/request-context.js';
import { purposeOfUse } from './purpose-of-use.js';

const doctor: Actor = { kind: 'service', id: '6f1c3a52-9d0e-4c1a-8b57-3f5f6a1f2b10', role: 'DOCTOR', organizationId: '0b7a9e4e-2d5c-4f4b-9a51-1c2d3e4f5a6b', attributes: {}, scopes: [], tokenId: 't' };

describe('purposeOfUse (X-Purpose-Of-Use)', () => {
  it('is TREATMENT for a signed-in actor who names none, and none for an anonymous request', () => {
    expect(purposeOfUse(undefined, doctor)).toBe('TREATMENT');
    expect(purposeOfUse('', doctor)).toBe('TREATMENT');
    expect(purposeOfUse(undefined, undefined)).toBeUndefined();
  });

  it('accepts a known purpose in any case, with surrounding spaces', () => {
    expect(purposeOfUse(' research ', doctor)).toBe('RESEARCH');
    expect(purposeOfUse('EMERGENCY', undefined)).toBe('EMERGENCY');
  });

  it('refuses anything else as BAD_USER_INPUT naming the allowed values', () => {
    expect(() => purposeOfUse('MARKETING', doctor)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringContaining('TREATMENT') }));
  });
});

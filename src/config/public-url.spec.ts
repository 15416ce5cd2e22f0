import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import { AppConfig, parseEnv } from './app-config.js';
import { PublicUrl } from './public-url.js';

const urlsFor = (env: Record<string, string>) => new PublicUrl(new AppConfig(parseEnv(env), { jwtSecret: 'x'.repeat(32), masterKey: Buffer.alloc(32) }));
const request = { protocol: 'http', get: (name: string) => (name === 'host' ? 'internal:3000' : undefined) } as unknown as Request;

describe('PUBLIC_URL', () => {
  it('takes an http(s) URL, with or without a path prefix, in one spelling', () => {
    expect(parseEnv({}).PUBLIC_URL).toBeUndefined();
    expect(parseEnv({ PUBLIC_URL: ' ' }).PUBLIC_URL).toBeUndefined();
    expect(parseEnv({ PUBLIC_URL: 'https://EHR.example.org/' }).PUBLIC_URL).toBe('https://ehr.example.org');
    expect(parseEnv({ PUBLIC_URL: 'https://ehr.example.org/health/ledger//' }).PUBLIC_URL).toBe('https://ehr.example.org/health/ledger');
    expect(parseEnv({ PUBLIC_URL: 'http://10.0.0.5:8080' }).PUBLIC_URL).toBe('http://10.0.0.5:8080');
  });

  it('refuses anything else, naming the variable', () => {
    for (const bad of ['ehr.example.org', '/prefix', 'ftp://ehr.example.org', 'https://user:pw@ehr.example.org', 'https://ehr.example.org/?a=1', 'https://ehr.example.org/#top', 'https://ehr.example.org/?']) {
      expect(() => parseEnv({ PUBLIC_URL: bad }), bad).toThrow(/PUBLIC_URL: must be an absolute http:\/\/ or https:\/\/ URL/);
    }
  });

  it('builds every URL under it when set; else after the request, or relative without one', () => {
    const set = urlsFor({ PUBLIC_URL: 'https://ehr.example.org/prefix/' });
    expect(set.to('/records/1/content?token=t')).toBe('https://ehr.example.org/prefix/records/1/content?token=t');
    expect(set.to('/fhir/R4', request)).toBe('https://ehr.example.org/prefix/fhir/R4');
    const unset = urlsFor({});
    expect(unset.to('/records/1/content?token=t')).toBe('/records/1/content?token=t');
    expect(unset.to('/fhir/R4', request)).toBe('http://internal:3000/fhir/R4');
  });
});

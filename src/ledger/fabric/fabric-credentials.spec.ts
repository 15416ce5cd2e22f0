import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCertificateAuthority, type IdentityFiles, writeIdentityFiles } from '../../../test/support/fabric-ca.js';
import { FabricCredentialsError, loadFabricCredentials } from './fabric-credentials.js';

describe('loadFabricCredentials', () => {
  let dir: string;
  let files: IdentityFiles;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hl-fabric-creds-'));
    const ca = await createTestCertificateAuthority('Org1MSP');
    files = await writeIdentityFiles(dir, await ca.issueClient('admin', { 'hl.admin': 'true' }));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads a matching certificate and key', async () => {
    const creds = await loadFabricCredentials({ mspId: 'Org1MSP', ...files });
    expect(creds.mspId).toBe('Org1MSP');
    expect(creds.certificate.subject).toContain('CN=admin');
    expect(creds.privateKey.asymmetricKeyType).toBe('ec');
    expect(creds.tlsRootCertPem).toBeUndefined();
  });

  it('names an expired certificate', async () => {
    const later = new Date(Date.now() + 2 * 365 * 24 * 3600_000);
    const err = await loadFabricCredentials({ mspId: 'Org1MSP', ...files }, later).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FabricCredentialsError);
    expect((err as FabricCredentialsError).path).toBe(files.certPath);
    expect((err as Error).message).toMatch(new RegExp(`certificate \\(certPath\\) ${files.certPath} expired on`));
  });

  it('names a certificate that is not valid yet', async () => {
    const earlier = new Date(Date.now() - 24 * 3600_000);
    await expect(loadFabricCredentials({ mspId: 'Org1MSP', ...files }, earlier)).rejects.toThrow(/is not valid before/);
  });

  it('refuses an empty MSP id', async () => {
    await expect(loadFabricCredentials({ mspId: ' ', ...files })).rejects.toThrow('Fabric MSP id is empty');
  });
});

import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/** Fabric CA puts enrollment attributes into this X.509 extension as `{"attrs":{...}}`; fabric-shim reads them from there. */
const FABRIC_ATTRIBUTES_OID = '1.2.3.4.5.6.7.8.1';

export interface TestIdentity {
  readonly mspId: string;
  readonly certificatePem: string;
}

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/**
 * A real ECDSA P-256 certificate as a Fabric CA would issue (attributes included), so the tests
 * exercise fabric-shim's own ClientIdentity parsing rather than a stand-in.
 */
export async function createIdentity(mspId: string, commonName: string, attributes: Record<string, string> = {}): Promise<TestIdentity> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(false)];
  if (Object.keys(attributes).length > 0) {
    extensions.push(new x509.Extension(FABRIC_ATTRIBUTES_OID, false, Buffer.from(JSON.stringify({ attrs: attributes }))));
  }
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${commonName}, O=${mspId}`,
    notBefore: new Date('2020-01-01T00:00:00Z'),
    notAfter: new Date('2040-01-01T00:00:00Z'),
    signingAlgorithm: algorithm,
    keys: keys as webcrypto.CryptoKeyPair,
    extensions,
  });
  return { mspId, certificatePem: certificate.toString('pem') };
}

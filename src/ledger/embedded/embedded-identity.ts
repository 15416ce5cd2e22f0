// @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs the Reflect polyfill first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { Extension, X509CertificateGenerator } from '@peculiar/x509';
import { ClientIdentity } from 'fabric-shim';

/** Who the embedded ledger submits as: an MSP member with Fabric CA style attributes. */
export interface EmbeddedIdentityConfig {
  mspId: string;
  /** Subject common name of the generated certificate (default `admin`). */
  commonName?: string;
  /** Attributes as Fabric CA embeds them (`hf.EnrollmentID`, roles...), read by `getAttributeValue`. */
  attributes?: Record<string, string>;
  /** A PEM certificate to use instead of a generated one (e.g. the enrolled Fabric identity). */
  certificatePem?: string;
}

export interface EmbeddedIdentity {
  mspId: string;
  certificatePem: string;
  /** `x509::{subject DN}::{issuer DN}`, exactly what `ClientIdentity.getID()` returns on Fabric. */
  id: string;
}

/** The OID Fabric CA uses for the attribute extension that `ClientIdentity` parses. */
const FABRIC_ATTRIBUTES_OID = '1.2.3.4.5.6.7.8.1';

/** The org admin the API acts as: the chaincode accepts administrative calls from `hl.admin=true`. */
export const DEFAULT_EMBEDDED_IDENTITY: EmbeddedIdentityConfig = {
  mspId: 'HealthLedgerMSP',
  commonName: 'admin',
  attributes: { 'hf.EnrollmentID': 'admin', 'hf.Type': 'admin', 'hl.admin': 'true' },
};

/**
 * Produces the creator certificate the embedded ledger presents to the chaincode. The chaincode
 * reads identity through fabric-shim's own `ClientIdentity`, which parses an X.509 certificate, so
 * the embedded ledger issues one (ECDSA P-256 like Fabric CA; the key is discarded: nothing
 * verifies creator signatures in-process) carrying the attributes in Fabric CA's extension.
 */
export async function createEmbeddedIdentity(config: EmbeddedIdentityConfig): Promise<EmbeddedIdentity> {
  const certificatePem = config.certificatePem ?? (await generateCertificate(config));
  const probe = new ClientIdentity({
    getChannelID: () => '',
    getTxID: () => '',
    getCreator: () => ({ mspid: config.mspId, idBytes: Buffer.from(certificatePem) }),
  } as never);
  return { mspId: config.mspId, certificatePem, id: probe.getID() };
}

async function generateCertificate(config: EmbeddedIdentityConfig): Promise<string> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256' };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const orgName = escapeDnValue(config.mspId);
  const extensions = [];
  if (config.attributes && Object.keys(config.attributes).length > 0) {
    const value = Buffer.from(JSON.stringify({ attrs: config.attributes }));
    extensions.push(new Extension(FABRIC_ATTRIBUTES_OID, false, value));
  }
  const now = Date.now();
  const cert = await X509CertificateGenerator.create(
    {
      subject: `CN=${escapeDnValue(config.commonName ?? 'admin')}, OU=client, O=${orgName}`,
      issuer: `CN=ca.${orgName}, O=${orgName}`,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 10 * 365 * 24 * 3600_000),
      publicKey: keys.publicKey,
      signingKey: keys.privateKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as webcrypto.EcdsaParams,
      extensions,
    },
    webcrypto as Parameters<typeof X509CertificateGenerator.create>[1],
  );
  return cert.toString('pem');
}

function escapeDnValue(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1');
}

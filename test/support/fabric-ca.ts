// @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs the Reflect polyfill first.
import 'reflect-metadata';
import { webcrypto, X509Certificate } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BasicConstraintsExtension,
  Extension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectAlternativeNameExtension,
  X509CertificateGenerator,
} from '@peculiar/x509';

/**
 * Test certificate authorities shaped like Fabric CA's: ECDSA P-256, client certificates with
 * OU=client and the attribute extension Fabric CA writes (`hl.admin`, `hf.EnrollmentID`...).
 */
const P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as webcrypto.EcdsaParams;
const FABRIC_ATTRIBUTES_OID = '1.2.3.4.5.6.7.8.1';
const crypto = webcrypto as Parameters<typeof X509CertificateGenerator.create>[1];

export interface IssuedCertificate {
  certificatePem: string;
  /** PKCS#8 PEM. */
  privateKeyPem: string;
}

export interface TestCertificateAuthority extends IssuedCertificate {
  mspId: string;
  certificate: X509Certificate;
  issueClient(commonName: string, attributes?: Record<string, string>): Promise<IssuedCertificate>;
  /** A TLS server certificate for `hostnames` (DNS names, or IP addresses). */
  issueTlsServer(hostnames: string[]): Promise<IssuedCertificate>;
}

export async function createTestCertificateAuthority(mspId: string, organization = mspId): Promise<TestCertificateAuthority> {
  const keys = await generateKeys();
  const name = `CN=ca.${organization}, O=${organization}`;
  const now = Date.now();
  const caCert = await X509CertificateGenerator.createSelfSigned(
    {
      name,
      keys,
      serialNumber: randomSerial(),
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 365 * 24 * 3600_000),
      signingAlgorithm: SIGNING,
      extensions: [
        new BasicConstraintsExtension(true, undefined, true),
        new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
      ],
    },
    crypto,
  );
  const issue = async (subject: string, extensions: Extension[]): Promise<IssuedCertificate> => {
    const leafKeys = await generateKeys();
    const cert = await X509CertificateGenerator.create(
      {
        subject,
        issuer: name,
        serialNumber: randomSerial(),
        notBefore: new Date(Date.now() - 60_000),
        notAfter: new Date(Date.now() + 365 * 24 * 3600_000),
        publicKey: leafKeys.publicKey,
        signingKey: keys.privateKey,
        signingAlgorithm: SIGNING,
        extensions: [new BasicConstraintsExtension(false, undefined, true), ...extensions],
      },
      crypto,
    );
    return { certificatePem: cert.toString('pem'), privateKeyPem: await privateKeyPem(leafKeys.privateKey) };
  };
  const certificatePem = caCert.toString('pem');
  return {
    mspId,
    certificatePem,
    privateKeyPem: await privateKeyPem(keys.privateKey),
    certificate: new X509Certificate(certificatePem),
    issueClient: (commonName, attributes) =>
      issue(`CN=${commonName}, OU=client, O=${organization}`, [
        new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
        ...(attributes ? [new Extension(FABRIC_ATTRIBUTES_OID, false, Buffer.from(JSON.stringify({ attrs: attributes })))] : []),
      ]),
    issueTlsServer: (hostnames) =>
      issue(`CN=${hostnames[0]}, O=${organization}`, [
        new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment, true),
        new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth]),
        new SubjectAlternativeNameExtension(
          hostnames.map((host) => (/^[\d.]+$/.test(host) ? { type: 'ip', value: host } : { type: 'dns', value: host })),
        ),
      ]),
  };
}

export interface IdentityFiles {
  certPath: string;
  keyPath: string;
}

/** Writes an issued identity as the cert.pem / key.pem pair an operator would point FABRIC_CERT / FABRIC_KEY at. */
export async function writeIdentityFiles(dir: string, identity: IssuedCertificate): Promise<IdentityFiles> {
  await mkdir(dir, { recursive: true });
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  await writeFile(certPath, identity.certificatePem);
  await writeFile(keyPath, identity.privateKeyPem, { mode: 0o600 });
  return { certPath, keyPath };
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(P256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const body = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN PRIVATE KEY-----\n${body}-----END PRIVATE KEY-----\n`;
}

function randomSerial(): string {
  // Positive 16-byte serial: clear the top bit so DER does not read it as negative.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] &= 0x7f;
  return Buffer.from(bytes).toString('hex');
}

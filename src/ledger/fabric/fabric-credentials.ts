// @peculiar/x509 (its tsyringe) needs the reflect polyfill loaded first.
import 'reflect-metadata';
import { createPrivateKey, KeyObject, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { X509Certificate as ParsedCertificate } from '@peculiar/x509';

/** The files that identify HealthLedger to a Fabric peer, as named in the Fabric ledger options. */
export interface FabricCredentialFiles {
  mspId: string;
  /** PEM X.509 certificate of the client identity (enrolled by the organization's CA). */
  certPath: string;
  /** PEM private key matching `certPath`. */
  keyPath: string;
  /** PEM certificate of the CA that issued the peer's TLS certificate; absent means plaintext gRPC. */
  tlsCertPath?: string;
}

export interface FabricCredentials {
  mspId: string;
  certificatePem: Buffer;
  certificate: X509Certificate;
  privateKey: KeyObject;
  tlsRootCertPem?: Buffer;
  /** The attributes Fabric CA enrolled into the certificate (`hl.admin`, `hf.EnrollmentID`, ...); empty without any. */
  attributes: Readonly<Record<string, string>>;
}

/** The OID of the certificate extension in which Fabric CA writes enrollment attributes (what chaincode's ClientIdentity reads). */
const FABRIC_ATTRIBUTES_OID = '1.2.3.4.5.6.7.8.1';

/** A Fabric identity or TLS file that is missing or unusable; the message names the file and the fault. */
export class FabricCredentialsError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'FabricCredentialsError';
  }
}

/**
 * Reads and cross-checks the identity files at boot, so a wrong path, a swapped cert/key pair or an
 * expired certificate is reported by name instead of surfacing later as an opaque gRPC refusal.
 */
export async function loadFabricCredentials(files: FabricCredentialFiles, now = new Date()): Promise<FabricCredentials> {
  if (!files.mspId.trim()) throw new FabricCredentialsError('', 'Fabric MSP id is empty');
  const certificatePem = await readPemFile(files.certPath, 'client certificate (certPath)');
  const certificate = parseCertificate(certificatePem, files.certPath, 'client certificate (certPath)');
  if (new Date(certificate.validTo) < now) {
    throw new FabricCredentialsError(
      files.certPath,
      `Fabric client certificate (certPath) ${files.certPath} expired on ${certificate.validTo}`,
    );
  }
  if (new Date(certificate.validFrom) > now) {
    throw new FabricCredentialsError(
      files.certPath,
      `Fabric client certificate (certPath) ${files.certPath} is not valid before ${certificate.validFrom}`,
    );
  }

  const keyPem = await readPemFile(files.keyPath, 'private key (keyPath)');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch (err) {
    const hint = keyPem.includes('CERTIFICATE') ? ' (it holds a certificate: are certPath and keyPath swapped?)' : '';
    throw new FabricCredentialsError(
      files.keyPath,
      `Fabric private key (keyPath) ${files.keyPath} is not a PEM private key${hint}: ${(err as Error).message}`,
    );
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new FabricCredentialsError(
      files.keyPath,
      `Fabric private key (keyPath) ${files.keyPath} does not belong to the certificate ${files.certPath} ` +
        `(subject ${certificate.subject.replace(/\n/g, ', ')})`,
    );
  }

  let tlsRootCertPem: Buffer | undefined;
  if (files.tlsCertPath) {
    tlsRootCertPem = await readPemFile(files.tlsCertPath, 'peer TLS CA certificate (tlsCertPath)');
    parseCertificate(tlsRootCertPem, files.tlsCertPath, 'peer TLS CA certificate (tlsCertPath)');
  }
  return { mspId: files.mspId, certificatePem, certificate, privateKey, tlsRootCertPem, attributes: fabricAttributes(certificatePem, files.certPath) };
}

async function readPemFile(path: string, what: string): Promise<Buffer> {
  if (!path) throw new FabricCredentialsError(path, `Fabric ${what} is not configured`);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable' : (err as Error).message;
    throw new FabricCredentialsError(path, `Fabric ${what} ${path} ${reason}`);
  }
  if (!bytes.includes('-----BEGIN ')) {
    throw new FabricCredentialsError(path, `Fabric ${what} ${path} is not PEM (no "-----BEGIN" line)`);
  }
  return bytes;
}

function parseCertificate(pem: Buffer, path: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    const hint = pem.includes('PRIVATE KEY') ? ' (it holds a private key: are certPath and keyPath swapped?)' : '';
    throw new FabricCredentialsError(path, `Fabric ${what} ${path} is not a PEM X.509 certificate${hint}: ${(err as Error).message}`);
  }
}

/** The `attrs` of the certificate's Fabric CA attribute extension, parsed the way fabric-shim's ClientIdentity does. */
function fabricAttributes(pem: Buffer, path: string): Readonly<Record<string, string>> {
  const extension = new ParsedCertificate(pem.toString('utf8')).getExtension(FABRIC_ATTRIBUTES_OID);
  if (!extension) return {};
  try {
    const { attrs } = JSON.parse(Buffer.from(extension.value).toString('utf8')) as { attrs?: Record<string, unknown> };
    return Object.fromEntries(Object.entries(attrs ?? {}).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  } catch (err) {
    throw new FabricCredentialsError(path, `Fabric client certificate (certPath) ${path} has an unreadable attribute extension: ${(err as Error).message}`);
  }
}

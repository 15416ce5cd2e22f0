import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FabricLedger } from '../../src/ledger/adapters/fabric-ledger.adapter.js';
import { loadFabricCredentials } from '../../src/ledger/fabric/fabric-credentials.js';
import { startFabricTestNetwork, type FabricTestNetwork } from '../support/fabric-test-network.js';

const run = promisify(execFile);

/**
 * fabric/config is what a hospital creates its channel from (`configtxgen`, `cryptogen`). No Fabric binary
 * runs on CI machines, so what a real network showed is pinned here: on a channel whose organizations
 * declare no anchor peers, no peer learns of the other hospital's, the gateway cannot gather the two
 * endorsements the Endorsement policy needs, and every submit fails.
 */
const configDir = resolve(import.meta.dirname, '../../fabric/config');

interface Organization {
  Name: string;
  ID: string;
  MSPDir: string;
  AnchorPeers?: Array<{ Host: string; Port: number }>;
  Policies: Record<string, { Type: string; Rule: string }>;
}

async function load(file: string) {
  return parse(await readFile(resolve(configDir, file), 'utf8'), { merge: true });
}

describe('fabric/config (the channel as shipped)', () => {
  it('gives every application organization an anchor peer that cryptogen issues, each at its own address', async () => {
    const configtx = await load('configtx.yaml');
    const crypto = await load('crypto-config.yaml');
    const organizations: Organization[] = configtx.Profiles.HealthLedgerChannel.Application.Organizations;
    expect(organizations.map((org) => org.Name)).toEqual(['HospitalAMSP', 'HospitalBMSP']);

    const peerHosts = (crypto.PeerOrgs as Array<{ Domain: string; Template: { Count: number } }>).flatMap((org) =>
      Array.from({ length: org.Template.Count }, (_, i) => `peer${i}.${org.Domain}`),
    );
    const addresses = new Set<string>();
    for (const org of organizations) {
      expect(org.AnchorPeers, `${org.Name} declares no AnchorPeers`).toHaveLength(1);
      const [anchor] = org.AnchorPeers!;
      // The anchor is one of the organization's own peers (its TLS certificate names that host).
      expect(peerHosts).toContain(anchor.Host);
      expect(org.MSPDir).toContain(anchor.Host.replace(/^peer\d+\./, ''));
      expect(anchor.Port).toBeGreaterThan(0);
      addresses.add(`${anchor.Host}:${anchor.Port}`);
      // Endorsement by the organization's peers is what the channel's MAJORITY Endorsement counts.
      expect(org.Policies.Endorsement.Rule).toBe(`OR('${org.ID}.peer')`);
    }
    expect(addresses.size).toBe(organizations.length);
    expect(configtx.Profiles.HealthLedgerChannel.Application.Policies.Endorsement.Rule).toBe('MAJORITY Endorsement');
  });

  it('names a Raft consenter that cryptogen issues a TLS certificate for', async () => {
    const configtx = await load('configtx.yaml');
    const crypto = await load('crypto-config.yaml');
    const orderer = crypto.OrdererOrgs[0] as { Domain: string; Specs: Array<{ Hostname: string }> };
    const hosts = orderer.Specs.map((spec) => `${spec.Hostname}.${orderer.Domain}`);
    for (const consenter of configtx.Profiles.HealthLedgerChannel.Orderer.EtcdRaft.Consenters as Array<{ Host: string; ServerTLSCert: string }>) {
      expect(hosts).toContain(consenter.Host);
      expect(consenter.ServerTLSCert).toContain(`/orderers/${consenter.Host}/tls/`);
    }
  });
});

describe('fabric/scripts/issue-api-identity.sh (an hl.admin identity without a Fabric CA)', () => {
  let dir: string;
  let network: FabricTestNetwork;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hl-api-identity-'));
    network = await startFabricTestNetwork(join(dir, 'network'));
  });
  afterAll(async () => {
    await network?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("issues, from the organization's CA key, an identity the peer admits and the chaincode lets write", async () => {
    // The organization's CA as cryptogen leaves it: a certificate and its private key in PEM files.
    const caCert = join(dir, 'ca-cert.pem');
    const caKey = join(dir, 'priv_sk');
    await writeFile(caCert, network.org1.certificatePem);
    await writeFile(caKey, network.org1.privateKeyPem, { mode: 0o600 });
    const msp = join(dir, 'users', 'healthledger-api', 'msp');
    const { stdout } = await run('bash', [resolve(import.meta.dirname, '../../fabric/scripts/issue-api-identity.sh'), caCert, caKey, msp]);
    const certPath = join(msp, 'signcerts', 'cert.pem');
    const keyPath = join(msp, 'keystore', 'key.pem');
    expect(stdout).toContain(`FABRIC_CERT=${certPath}`);
    expect((await stat(keyPath)).mode & 0o777).toBe(0o600);

    const credentials = await loadFabricCredentials({ mspId: 'Org1MSP', certPath, keyPath });
    expect(credentials.attributes).toMatchObject({ 'hl.admin': 'true', 'hf.EnrollmentID': 'healthledger-api' });
    expect(credentials.certificate.subject).toContain('OU=client');
    const ledger = new FabricLedger({ ...network.ledgerOptions, certPath, keyPath });
    await ledger.start();
    try {
      // An org admin's write: refused FORBIDDEN to an identity without hl.admin=true.
      const id = `org-${randomBytes(4).toString('hex')}`;
      const { txId } = await ledger.submit('identity:RegisterOrganization', [JSON.stringify({ id, name: id })]);
      expect(txId).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await ledger.stop();
    }
  });

  it('names the CA by its key identifier when the CA has one, as cryptogen and Fabric CA certificates do', async () => {
    const caKey = join(dir, 'ski-ca.key');
    const caCert = join(dir, 'ski-ca.pem');
    await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', caKey]);
    await run('openssl', ['req', '-x509', '-new', '-key', caKey, '-subj', '/O=hospital-a.example/CN=ca.hospital-a.example', '-days', '2', '-out', caCert,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign', '-addext', 'subjectKeyIdentifier=hash']);
    const msp = join(dir, 'ski-msp');
    await run('bash', [resolve(import.meta.dirname, '../../fabric/scripts/issue-api-identity.sh'), caCert, caKey, msp, 'api-node-1']);
    const { stdout: text } = await run('openssl', ['x509', '-in', join(msp, 'signcerts', 'cert.pem'), '-noout', '-text']);
    const { stdout: caText } = await run('openssl', ['x509', '-in', caCert, '-noout', '-ext', 'subjectKeyIdentifier']);
    const caKeyId = caText.split('\n')[1]!.trim();
    expect(text).toMatch(new RegExp(`Authority Key Identifier: *\\n *${caKeyId}`));
    const credentials = await loadFabricCredentials({ mspId: 'HospitalAMSP', certPath: join(msp, 'signcerts', 'cert.pem'), keyPath: join(msp, 'keystore', 'key.pem') });
    expect(credentials.attributes).toMatchObject({ 'hl.admin': 'true', 'hf.EnrollmentID': 'api-node-1' });
    expect(credentials.certificate.subject).toMatch(/O=hospital-a\.example\nOU=client\nCN=api-node-1/);
  });

  it('refuses to run without its arguments or with a CA key it cannot read', async () => {
    const script = resolve(import.meta.dirname, '../../fabric/scripts/issue-api-identity.sh');
    await expect(run('bash', [script])).rejects.toMatchObject({ code: 2 });
    await expect(run('bash', [script, join(dir, 'missing.pem'), join(dir, 'missing.key'), join(dir, 'out')])).rejects.toMatchObject({
      stderr: expect.stringContaining('cannot read'),
    });
  });
});

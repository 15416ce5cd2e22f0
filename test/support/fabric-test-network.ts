import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FabricLedgerOptions } from '../../src/ledger/adapters/fabric-ledger.adapter.js';
import type { LedgerLogger } from '../../src/ledger/embedded/block-file.js';
import { createTestCertificateAuthority, type TestCertificateAuthority, writeIdentityFiles } from './fabric-ca.js';
import { FabricGatewayTestServer, type FabricGatewayServerOptions } from './fabric-gateway-server.js';

export const silentLogger: LedgerLogger = { info: () => {}, warn: () => {}, error: () => {} };

export interface FabricTestNetwork {
  /** Hospital A: the MSP HealthLedger's client identity belongs to, and the peer's organization. */
  org1: TestCertificateAuthority;
  /** Hospital B: a second member organization of the channel. */
  org2: TestCertificateAuthority;
  /** Issues the peer's TLS certificate. */
  tlsCa: TestCertificateAuthority;
  server: FabricGatewayTestServer;
  /** FabricLedger options for an org admin of Org1 (attribute hl.admin=true), over TLS. */
  ledgerOptions: FabricLedgerOptions;
  /**
   * Another peer of the same organizations and identities over a chain of its own (a fresh block file): a
   * peer swapped for one with another history. Stopped by the caller.
   */
  startPeerWithOwnChain(): Promise<FabricGatewayTestServer>;
  /** Restarts the peer on the same port and block file after `downtimeMs`, as an operator restarting a peer would. */
  restart(downtimeMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Two hospital MSPs, a TLS CA, a peer identity, an admin client identity written to PEM files, and
 * the gateway test server listening with TLS on 127.0.0.1 under the host alias `peer0.org1.test`.
 */
export async function startFabricTestNetwork(
  dir: string,
  ordering: Pick<FabricGatewayServerOptions, 'batchTimeoutMs' | 'maxMessageCount'> = {},
): Promise<FabricTestNetwork> {
  const org1 = await createTestCertificateAuthority('Org1MSP', 'org1.test');
  const org2 = await createTestCertificateAuthority('Org2MSP', 'org2.test');
  const tlsCa = await createTestCertificateAuthority('Org1TLS', 'tls.org1.test');
  const peerIdentity = { mspId: 'Org1MSP', ...(await org1.issueClient('peer0.org1.test')) };
  const tls = await tlsCa.issueTlsServer(['peer0.org1.test']);
  const admin = await org1.issueClient('admin', { 'hf.EnrollmentID': 'admin', 'hf.Type': 'admin', 'hl.admin': 'true' });
  const { certPath, keyPath } = await writeIdentityFiles(join(dir, 'admin'), admin);
  const tlsCertPath = join(dir, 'tls-ca.pem');
  await mkdir(dir, { recursive: true });
  await writeFile(tlsCertPath, tlsCa.certificatePem);

  const serverOptions = {
    dataDir: join(dir, 'peer'),
    channel: 'healthledger',
    chaincode: 'healthledger',
    msps: { Org1MSP: org1.certificatePem, Org2MSP: org2.certificatePem },
    peer: peerIdentity,
    tls,
    logger: silentLogger,
    ...ordering,
  };
  let server = await FabricGatewayTestServer.start(serverOptions);
  const network: FabricTestNetwork = {
    org1,
    org2,
    tlsCa,
    server,
    ledgerOptions: {
      peers: [{ endpoint: server.address, hostAlias: 'peer0.org1.test' }],
      tlsCertPath,
      mspId: 'Org1MSP',
      certPath,
      keyPath,
      channel: 'healthledger',
      chaincode: 'healthledger',
      checkpointDir: join(dir, 'checkpoints'),
      logger: silentLogger,
      connectTimeoutMs: 3_000,
    },
    startPeerWithOwnChain() {
      return FabricGatewayTestServer.start({ ...serverOptions, dataDir: join(dir, `peer-${Date.now()}-${Math.random().toString(16).slice(2)}`), port: 0 });
    },
    async restart(downtimeMs = 0) {
      const port = server.port;
      await server.stop();
      await new Promise((resolve) => setTimeout(resolve, downtimeMs));
      server = await FabricGatewayTestServer.start({ ...serverOptions, port });
      network.server = server;
    },
    async stop() {
      await server.stop();
    },
  };
  return network;
}

/** The app's configuration for the network's peer, as an org admin identity of Org1 over TLS. */
export function fabricLedgerEnv(network: FabricTestNetwork): Record<string, string> {
  const options = network.ledgerOptions;
  return {
    LEDGER: 'fabric',
    FABRIC_PEER_ENDPOINTS: options.peers.map((peer) => (peer.hostAlias ? `${peer.endpoint}=${peer.hostAlias}` : peer.endpoint)).join(','),
    FABRIC_TLS_CERT: options.tlsCertPath!,
    FABRIC_MSP_ID: options.mspId,
    FABRIC_CERT: options.certPath,
    FABRIC_KEY: options.keyPath,
  };
}

/**
 * What API nodes that share one database must also share (a node with a ledger or storage of its own is
 * refused at start): the network's ledger, and networked storage listening on a free loopback port.
 */
export function sharedDeploymentEnv(network: FabricTestNetwork): Record<string, string> {
  return { ...fabricLedgerEnv(network), STORAGE: 'networked', STORAGE_LISTEN: '/ip4/127.0.0.1/tcp/0' };
}

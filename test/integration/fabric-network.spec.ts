import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { parseEnv } from '../../src/config/app-config.js';
import { FabricLedger } from '../../src/ledger/adapters/fabric-ledger.adapter.js';
import { runLedgerPortConformance } from '../../src/ledger/ledger.conformance.js';

/**
 * The LedgerPort conformance suite against a real Fabric network, configured exactly as the app is
 * (LEDGER=fabric and FABRIC_*; see fabric/README.md). Skipped when LEDGER is not `fabric`.
 */
const env = process.env.LEDGER === 'fabric' ? parseEnv(process.env) : undefined;

if (env) {
  const logger = { info: () => {}, warn: (m: string) => console.warn(m), error: (m: string) => console.error(m) };
  runLedgerPortConformance(`FabricLedger on ${env.FABRIC_PEER_ENDPOINT}`, async () =>
    new FabricLedger({
      peerEndpoint: env.FABRIC_PEER_ENDPOINT!,
      peerHostAlias: env.FABRIC_PEER_HOST_ALIAS,
      tlsCertPath: env.FABRIC_TLS_CERT,
      mspId: env.FABRIC_MSP_ID!,
      certPath: env.FABRIC_CERT!,
      keyPath: env.FABRIC_KEY!,
      channel: env.FABRIC_CHANNEL,
      chaincode: env.FABRIC_CHAINCODE,
      checkpointDir: mkdtempSync(join(tmpdir(), 'hl-fabric-checkpoints-')),
      logger,
    }),
  );
} else {
  describe('LedgerPort conformance on a real Fabric network', () => {
    it.skip('needs LEDGER=fabric and the FABRIC_* settings (fabric/README.md)', () => {});
  });
}

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { AppConfig, parseEnv } from '../../src/config/app-config.js';
import { FabricLedger } from '../../src/ledger/adapters/fabric-ledger.adapter.js';
import { runLedgerPortConformance } from '../../src/ledger/ledger.conformance.js';

/**
 * The LedgerPort conformance suite against a real Fabric network, configured exactly as the app is
 * (LEDGER=fabric and FABRIC_*; see fabric/README.md). Skipped when LEDGER is not `fabric`.
 */
// The app's own mapping of FABRIC_* onto the ledger settings (secrets play no part in it).
const ledger =
  process.env.LEDGER === 'fabric'
    ? new AppConfig(parseEnv(process.env), { jwtSecret: '', masterKey: Buffer.alloc(32) }).ledger
    : undefined;

if (ledger?.kind === 'fabric') {
  const logger = { info: () => {}, warn: (m: string) => console.warn(m), error: (m: string) => console.error(m) };
  runLedgerPortConformance(`FabricLedger on ${ledger.peers.map((peer) => peer.endpoint).join(', ')}`, async () =>
    new FabricLedger({
      ...ledger,
      checkpointDir: mkdtempSync(join(tmpdir(), 'hl-fabric-checkpoints-')),
      logger,
    }),
  );
} else {
  describe('LedgerPort conformance on a real Fabric network', () => {
    it.skip('needs LEDGER=fabric and the FABRIC_* settings (fabric/README.md)', () => {});
  });
}

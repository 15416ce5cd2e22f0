import { Global, Inject, Injectable, Logger, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import path from 'node:path';
import { AppConfig } from '../config/app-config.js';
import { DeploymentBindings } from '../database/deployment-binding.repository.js';
import { HealthRegistry } from '../health/health-registry.js';
import { EmbeddedLedger } from './adapters/embedded-ledger.adapter.js';
import { FabricLedger } from './adapters/fabric-ledger.adapter.js';
import { ChaincodeClient } from './chaincode-client.js';
import { LEDGER } from './ledger.token.js';
import type { LedgerPort } from './ports/ledger.port.js';

// For specs that drive the port itself (`app.get(LEDGER)`); lint keeps it from the app's code.
export { LEDGER } from './ledger.token.js';

function createLedger(config: AppConfig): LedgerPort {
  const logger = new Logger('Ledger');
  const ledgerLogger = { info: (m: string) => logger.log(m), warn: (m: string) => logger.warn(m), error: (m: string) => logger.error(m) };
  switch (config.ledger.kind) {
    case 'embedded':
      return new EmbeddedLedger({
        dataDir: config.ledger.dir,
        allowCorruptedChain: config.ledger.allowCorruptedChain,
        logger: ledgerLogger,
      });
    case 'fabric':
      return new FabricLedger({
        ...config.ledger,
        // Where chaincode-event consumers keep their position, so a restart resumes where it stopped.
        checkpointDir: path.join(config.dataDir, 'ledger-checkpoints'),
        logger: ledgerLogger,
      });
  }
}

/** Opens the ledger at boot (an embedded chain that fails verification stops the start) and closes it last. */
@Injectable()
class LedgerLifecycle implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Ledger');
  constructor(
    @Inject(LEDGER) private readonly ledger: LedgerPort,
    private readonly config: AppConfig,
    private readonly health: HealthRegistry,
    private readonly bindings: DeploymentBindings,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.ledger.start();
    // Before anything reads or writes through it: a ledger the database's records are not on must not serve.
    await this.bindings.bind('ledger', await this.ledger.deploymentIdentity()).catch(async (error: unknown) => {
      await this.ledger.stop();
      throw error;
    });
    const status = await this.ledger.status();
    this.logger.log(`${status.backend} ledger open at height ${status.height}, head ${status.headHash.slice(0, 16)}…${status.verified ? '' : ' (chain NOT verified)'}`);
    this.health.register('ledger', async () => {
      const current = await this.ledger.status();
      return {
        // A chain opened with LEDGER_ALLOW_CORRUPTED_CHAIN serves, but must not look healthy.
        status: current.verified ? 'up' : 'degraded',
        backend: current.backend,
        details: { height: current.height, headHash: current.headHash, verified: current.verified },
        error: current.verified ? undefined : 'the chain failed verification at start',
      };
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.ledger.stop();
    this.logger.log(`${this.config.ledger.kind} ledger closed`);
  }
}

@Global()
@Module({
  providers: [{ provide: LEDGER, inject: [AppConfig], useFactory: createLedger }, LedgerLifecycle, ChaincodeClient],
  // Not LEDGER: other modules reach the chaincode through the client only.
  exports: [ChaincodeClient],
})
export class LedgerModule {}

import { Global, Inject, Injectable, Logger, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { DeploymentBindings } from '../database/deployment-binding.repository.js';
import { HealthRegistry } from '../health/health-registry.js';
import { HeliaStorage } from './adapters/helia-storage.adapter.js';
import type { StoragePort } from './ports/storage.port.js';

/** Injection token of the configured {@link StoragePort}. */
export const STORAGE = Symbol('STORAGE');

function createStorage(config: AppConfig): StoragePort {
  return new HeliaStorage({
    dataDir: config.dataDir,
    network:
      config.storage.kind === 'networked' ? { listen: config.storage.listen, peers: config.storage.peers } : undefined,
  });
}

@Injectable()
class StorageLifecycle implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Storage');
  constructor(
    @Inject(STORAGE) private readonly storage: StoragePort,
    private readonly config: AppConfig,
    private readonly health: HealthRegistry,
    private readonly bindings: DeploymentBindings,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.storage.start();
    // Before anything stores or reads content: storage the database's records are not on must not serve.
    await this.bindings.bind('storage', await this.storage.deploymentIdentity()).catch(async (error: unknown) => {
      await this.storage.stop();
      throw error;
    });
    this.logger.log(`${this.config.storage.kind} IPFS storage open`);
    this.health.register('storage', async () => {
      const { status, details } = await this.storage.health();
      return { status, backend: `helia-${this.config.storage.kind}`, details };
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.storage.stop();
    this.logger.log('storage closed');
  }
}

@Global()
@Module({
  providers: [{ provide: STORAGE, inject: [AppConfig], useFactory: createStorage }, StorageLifecycle],
  exports: [STORAGE],
})
export class StorageModule {}

import { Global, Injectable, Logger, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { HealthRegistry } from '../health/health-registry.js';
import { DatabaseNotifications } from './database-notifications.js';
import { dataSourceOptions, openDataSource } from './data-source-options.js';
import { FallbackAutovacuum } from './fallback-autovacuum.js';
import { EmbeddedPostgres } from './embedded-postgres.js';
import { InstallationRepository } from './installation.repository.js';
import { InstallationService } from './installation.service.js';
import { DeploymentBindings } from './deployment-binding.repository.js';
import { TransactionalConnection } from './transactional-connection.js';

/** The embedded PGlite server when no DATABASE_URL is configured; stopped after TypeORM has closed its pool. */
@Injectable()
export class DatabaseServer implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  constructor(
    readonly embedded: EmbeddedPostgres | undefined,
    private readonly moduleRef: ModuleRef,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    if (!this.embedded) return;
    // Nest does not order shutdown hooks across modules: close the pool first, then the server under it.
    const dataSource = this.moduleRef.get(DataSource, { strict: false });
    if (dataSource.isInitialized) await dataSource.destroy();
    await this.embedded.stop();
    this.logger.log('embedded database closed');
  }
}

@Module({
  providers: [
    {
      provide: DatabaseServer,
      inject: [AppConfig, ModuleRef],
      useFactory: async (config: AppConfig, moduleRef: ModuleRef) =>
        new DatabaseServer(
          config.database.kind === 'pglite'
            ? await EmbeddedPostgres.start(config.database.dir, config.database.poolSize, (error) =>
                // Every query fails from here on, and /health says so; the log says why.
                new Logger('Database').error(`the embedded database stopped: ${error.message}`),
              )
            : undefined,
          moduleRef,
        ),
    },
  ],
  exports: [DatabaseServer],
})
class DatabaseServerModule {}

@Injectable()
class DatabaseHealth implements OnModuleInit {
  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly health: HealthRegistry,
  ) {}

  onModuleInit(): void {
    const backend = this.config.database.kind;
    this.health.register('db', async () => {
      await this.dataSource.query('SELECT 1');
      const [{ count }] = await this.dataSource.query('SELECT count(*)::int AS count FROM migrations');
      return { status: 'up', backend, details: { migrations: count } };
    });
  }
}

@Global()
@Module({
  imports: [
    DatabaseServerModule,
    TypeOrmModule.forRootAsync({
      imports: [DatabaseServerModule],
      inject: [AppConfig, DatabaseServer],
      useFactory: (config: AppConfig, server: DatabaseServer) => ({
        ...dataSourceOptions(config.database, server.embedded),
        retryAttempts: 3,
        retryDelay: 1000,
      }),
      // Opened with its migrations run, one node at a time, before any provider uses it.
      dataSourceFactory: (options) => openDataSource(options!),
    }),
  ],
  providers: [DatabaseHealth, InstallationRepository, InstallationService, FallbackAutovacuum, TransactionalConnection, DeploymentBindings, DatabaseNotifications],
  exports: [InstallationService, TransactionalConnection, DeploymentBindings, DatabaseNotifications],
})
export class DatabaseModule {}

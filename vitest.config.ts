import { defineConfig } from 'vitest/config';

// Vite's oxc transformer reads tsconfig.json's experimentalDecorators/emitDecoratorMetadata, so Nest's
// dependency injection gets the constructor metadata it needs (no SWC plugin: its platform binaries
// are not all on this registry, which breaks `npm ci`).
export default defineConfig({
  test: {
    pool: 'forks',
    projects: [
      {
        test: { name: 'unit', include: ['src/**/*.spec.ts'], testTimeout: 30_000 },
      },
      {
        test: {
          name: 'e2e',
          globalSetup: ['test/support/global-setup.ts'],
          // Medium tests (test/medium): services called directly on the run's database, PGlite or PostgreSQL.
          include: ['test/e2e/**/*.e2e-spec.ts', 'test/medium/**/*.medium-spec.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          // One worker imports the application once for every file (each file still boots its own app on its
          // own data directory or database): importing Nest, TypeORM, Helia and the chaincode took ~5 s per
          // file, 4 of the suite's 10 minutes. A file that changes process-wide state restores it in afterAll.
          isolate: false,
        },
      },
      {
        test: {
          name: 'integration',
          globalSetup: ['test/support/global-setup.ts'],
          include: ['test/integration/**/*.spec.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});

import { defineConfig } from 'vitest/config';

// Vite's oxc transformer emits the decorator metadata (parameter types) that fabric-contract-api's
// @Transaction reads, following chaincode/tsconfig.json's experimentalDecorators/emitDecoratorMetadata.
export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['test/**/*.spec.ts'],
    pool: 'forks',
    // fabric-contract-api logs every decorator at info level unless told otherwise.
    env: { CORE_CHAINCODE_LOGGING_LEVEL: 'error' },
    // fabric-shim logs every failed transaction; the tests provoke many on purpose.
    silent: 'passed-only',
    testTimeout: 30_000,
  },
});

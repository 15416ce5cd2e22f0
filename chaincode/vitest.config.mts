import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// SWC (not esbuild) compiles the tests: fabric-contract-api's @Transaction reads the decorator
// metadata (parameter types) that esbuild does not emit.
export default defineConfig({
  plugins: [
    swc.vite({
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
        target: 'es2022',
      },
    }),
  ],
  test: {
    root: __dirname,
    include: ['test/**/*.spec.ts'],
    pool: 'forks',
    // fabric-contract-api logs every decorator at info level unless told otherwise.
    env: { CORE_CHAINCODE_LOGGING_LEVEL: 'error' },
    // fabric-shim logs every failed transaction; the tests provoke many on purpose.
    silent: 'passed-only',
    testTimeout: 30_000,
  },
});

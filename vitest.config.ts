import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// SWC (not esbuild) compiles the tests: Nest's dependency injection needs the decorator metadata
// that esbuild does not emit.
const swcPlugin = () =>
  swc.vite({
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      target: 'es2023',
    },
  });

export default defineConfig({
  plugins: [swcPlugin()],
  test: {
    pool: 'forks',
    projects: [
      {
        plugins: [swcPlugin()],
        test: { name: 'unit', include: ['src/**/*.spec.ts'], testTimeout: 30_000 },
      },
      {
        plugins: [swcPlugin()],
        test: {
          name: 'e2e',
          globalSetup: ['test/support/global-setup.ts'],
          include: ['test/e2e/**/*.e2e-spec.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        plugins: [swcPlugin()],
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

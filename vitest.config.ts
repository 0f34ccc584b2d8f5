import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// esbuild emits no decorator metadata; SWC does (MikroORM and type-graphql read it).
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
  resolve: {
    // type-graphql requires graphql's CommonJS build; make our imports use the same instance.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Timing lives in benchmarks; a slow machine must not fail a test.
    slowTestThreshold: 5_000,
    // The JSON report lets CI print a one-line summary.
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest/results.json' },
  },
});

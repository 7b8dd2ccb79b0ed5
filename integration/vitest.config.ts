import { fileURLToPath } from 'node:url'
import { mergeConfig } from 'vitest/config'
import { sharedConfig } from '../vitest.shared.ts'

// Real servers and worker processes: test/global-setup.ts starts every topology and compiles the
// workers. One file at a time (a 2-core machine, and fault scenarios restart or cut servers).
// CommonJS packages that require a dependency whose package maps `import` to an ES module
// (pg -> pg-pool under @keyv/postgres, the OpenTelemetry SDK) get the module namespace when
// `import` is among the ssr conditions, and fail to load: externals resolve without it.
const ssrConditions = ['@cacheplane/source', 'node', 'default']

export default mergeConfig(
  { ...sharedConfig, ssr: { resolve: { conditions: ssrConditions, externalConditions: ssrConditions } } },
  {
    resolve: {
      // The global setup is loaded outside the test environment, where the source condition is
      // not applied; point it at the helper's source directly.
      alias: {
        '@cacheplane/test-servers': fileURLToPath(
          new URL('../tools/test-servers/src/index.ts', import.meta.url),
        ),
        // The model harness (test/model-real-stores.test.ts) lives in packages/core/test, where
        // this package is not a dependency (core reaches it the same way).
        '@cacheplane/memory': fileURLToPath(new URL('../packages/memory/src/index.ts', import.meta.url)),
      },
    },
    test: {
      globalSetup: ['./test/global-setup.ts'],
      fileParallelism: false,
      maxWorkers: 1,
      testTimeout: 90_000,
      hookTimeout: 120_000,
      include: ['test/**/*.test.ts'],
    },
  },
)

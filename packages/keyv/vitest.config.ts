import { mergeConfig } from 'vitest/config'
import { sharedConfig } from '../../vitest.shared.ts'

// pg (under @keyv/postgres) is CommonJS requiring pg-pool, whose package maps `import` to an
// ES module: with `import` among the ssr conditions that require gets the module namespace
// and pg fails to load. The ssr conditions here keep the source condition only.
const ssrConditions = ['@cacheplane/source', 'node', 'default']

// A real PostgreSQL server for the @keyv/postgres tests, started once by test/global-setup.ts
// (POSTGRES_URL overrides it). Without a container engine and without the PostgreSQL binaries
// the setup fails with a message saying how to get one.
export default mergeConfig(
  { ...sharedConfig, ssr: { resolve: { conditions: ssrConditions, externalConditions: ssrConditions } } },
  { test: { globalSetup: ['./test/global-setup.ts'] } },
)

import { defineConfig } from 'vitest/config'
import { sharedConfig } from '../../vitest.shared.ts'

// pg (the PostgreSQL test's client) is CommonJS requiring pg-pool, whose package maps `import`
// to an ES module: with `import` among the ssr conditions that require gets the module
// namespace and pg fails to load. The ssr conditions here keep the source condition only.
const ssrConditions = ['@cacheplane/source', 'node', 'default']

export default defineConfig({
  ...sharedConfig,
  ssr: { resolve: { conditions: ssrConditions, externalConditions: ssrConditions } },
})

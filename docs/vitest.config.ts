import { defineConfig, mergeConfig } from 'vitest/config'
import { sharedConfig } from '../vitest.shared.ts'

// pg (under the PostgreSQL sample's @keyv/postgres) is CommonJS requiring pg-pool, whose package
// maps `import` to an ES module: with `import` among the ssr conditions that require gets the
// module namespace and pg fails to load. The ssr conditions here keep the source condition only.
const ssrConditions = ['@cacheplane/source', 'node', 'default']

// The guides' examples that need no server run here; the custom-handle example brings
// its own conformance test under examples/.
export default mergeConfig(
  { ...sharedConfig, ssr: { resolve: { conditions: ssrConditions, externalConditions: ssrConditions } } },
  defineConfig({ test: { include: ['test/**/*.test.ts', 'examples/**/*.test.ts'] } }),
)

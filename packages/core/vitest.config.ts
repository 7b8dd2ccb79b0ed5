import { fileURLToPath } from 'node:url'
import { mergeConfig } from 'vitest/config'
import { sharedConfig } from '../../vitest.shared.ts'

// The algorithm tests run managers over the real memory handle. `@cacheplane/memory`
// depends on core, so a package.json dependency back would be a cycle for turbo;
// the tests reach its source through an alias instead (tsconfig has the same path).
export default mergeConfig(sharedConfig, {
  resolve: {
    alias: { '@cacheplane/memory': fileURLToPath(new URL('../memory/src/index.ts', import.meta.url)) },
  },
})

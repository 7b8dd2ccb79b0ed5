import { defineConfig } from 'vitest/config'

// Tests run on source: the workspace packages export a `@cacheplane/source`
// condition that points at `src/*.ts`, so no build is needed before `vitest`.
const conditions = ['@cacheplane/source', 'node', 'import', 'module', 'default']

export const sharedConfig = defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
})

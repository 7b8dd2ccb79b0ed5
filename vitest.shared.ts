import { defineConfig } from 'vitest/config'

// Tests run on source: the workspace packages export a `@cacheplane/source` condition
// that points at `src/*.ts`, so no build is needed before `vitest`. The globalSetup
// files are loaded through vitest's own `__vitest__` environment, which does not inherit
// `resolve.conditions`, so it gets the same conditions explicitly.
const conditions = ['@cacheplane/source', 'node', 'import', 'module', 'default']

export const sharedConfig = defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  environments: { __vitest__: { resolve: { conditions, externalConditions: conditions } } },
  test: {
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
})

import { defineConfig } from 'vitest/config'

// Tests run on source: the workspace packages export a `@cacheplane/source` condition
// that points at `src/*.ts`, so no build is needed before `vitest`. The globalSetup
// files are loaded through vitest's own `__vitest__` environment, which does not inherit
// `resolve.conditions`, so it gets the same conditions explicitly. No bundler-only `module`
// condition: Node ignores it, and @opentelemetry/api's `module` build imports files without
// their extensions, which Node's ESM loader refuses.
const conditions = ['@cacheplane/source', 'node', 'import', 'default']

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

import { defineConfig, mergeConfig } from 'vitest/config'
import { sharedConfig } from '../../vitest.shared.ts'

// The shared config resolves the `module` condition, which sends @opentelemetry/* to their
// `build/esm` files; those import without file extensions, which Node's ESM loader refuses.
// Without that condition they load as Node loads them in an application.
const conditions = ['@cacheplane/source', 'node', 'import', 'default']

export default mergeConfig(
  defineConfig({ ...sharedConfig, resolve: {}, ssr: {}, environments: {} }),
  defineConfig({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: conditions } },
    environments: { __vitest__: { resolve: { conditions, externalConditions: conditions } } },
  }),
)

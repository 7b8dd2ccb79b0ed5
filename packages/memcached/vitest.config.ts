import { mergeConfig } from 'vitest/config'
import { sharedConfig } from '../../vitest.shared.ts'

// The globalSetup file is loaded through vitest's own `__vitest__` environment, which does
// not inherit `resolve.conditions`: without this, `@cacheplane/test-servers` (source-only in
// the workspace) cannot be resolved there.
const conditions = ['@cacheplane/source', 'node', 'import', 'module', 'default']

// Real servers for every test file: one Memcached and a pool of two, started once by
// test/global-setup.ts (MEMCACHED_URL overrides them). Without a container engine and
// without `memcached` on PATH the setup fails with a message saying how to get one.
export default mergeConfig(sharedConfig, {
  environments: { __vitest__: { resolve: { conditions, externalConditions: conditions } } },
  test: { globalSetup: ['./test/global-setup.ts'] },
})

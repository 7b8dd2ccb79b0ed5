import { mergeConfig } from 'vitest/config'
import { sharedConfig } from '../../vitest.shared.ts'

// The globalSetup file is loaded through vitest's own `__vitest__` environment, which does
// not inherit `resolve.conditions`: without this, `@cacheplane/test-servers` (source-only in
// the workspace) cannot be resolved there.
const conditions = ['@cacheplane/source', 'node', 'import', 'module', 'default']

// Real servers for every test file: Redis, Memcached and NATS, started once by
// test/global-setup.ts (REDIS_URL, MEMCACHED_URL, NATS_URL override them). The commands run
// in-process through `runCli`, so exit codes and output are asserted without a build.
export default mergeConfig(sharedConfig, {
  environments: { __vitest__: { resolve: { conditions, externalConditions: conditions } } },
  test: { globalSetup: ['./test/global-setup.ts'] },
})

import { mergeConfig } from 'vitest/config'
import { sharedConfig } from '../../vitest.shared.ts'

// The globalSetup file is loaded through vitest's own `__vitest__` environment, which
// does not inherit `resolve.conditions`: without this, `@cacheplane/test-servers`
// (source-only in the workspace) cannot be resolved there.
const conditions = ['@cacheplane/source', 'node', 'import', 'module', 'default']

// One JetStream-enabled nats-server for the whole run (NATS_URL overrides it); tests that
// restart, kill or cut servers start their own through @cacheplane/test-servers.
export default mergeConfig(sharedConfig, {
  environments: { __vitest__: { resolve: { conditions, externalConditions: conditions } } },
  test: { globalSetup: ['./test/global-setup.ts'] },
})

import { mergeConfig } from 'vitest/config'
import { sharedConfig } from '../../vitest.shared.ts'

// One JetStream-enabled nats-server for the whole run (NATS_URL overrides it); tests that
// restart, kill or cut servers start their own through @cacheplane/test-servers.
export default mergeConfig(sharedConfig, {
  test: { globalSetup: ['./test/global-setup.ts'] },
})

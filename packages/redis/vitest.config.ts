import { mergeConfig } from 'vitest/config'
import { sharedConfig } from '../../vitest.shared.ts'

// Real servers for every test file: a standalone Redis and a 3-master Cluster, started once
// by test/global-setup.ts (REDIS_URL overrides the standalone one). Without a container
// engine and without `redis-server` on PATH the setup fails with a message saying how to fix it.
export default mergeConfig(sharedConfig, {
  test: {
    globalSetup: ['./test/global-setup.ts'],
  },
})

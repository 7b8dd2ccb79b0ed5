import { mergeConfig } from 'vitest/config'
import { sharedConfig } from '../../vitest.shared.ts'

// Real servers for every test file: one Memcached and a pool of two, started once by
// test/global-setup.ts (MEMCACHED_URL overrides them). Without a container engine and
// without `memcached` on PATH the setup fails with a message saying how to get one.
export default mergeConfig(sharedConfig, {
  test: { globalSetup: ['./test/global-setup.ts'] },
})

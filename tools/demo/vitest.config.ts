import { mergeConfig } from 'vitest/config'
import { sharedConfig } from '../../vitest.shared.ts'

// The demo's story runs in-process and against real Redis, Memcached and NATS started by
// test/global-setup.ts (REDIS_URL, MEMCACHED_URL, NATS_URL override).
export default mergeConfig(sharedConfig, { test: { globalSetup: ['./test/global-setup.ts'] } })

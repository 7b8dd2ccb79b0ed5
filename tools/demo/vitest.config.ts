import { fileURLToPath } from 'node:url'
import { mergeConfig } from 'vitest/config'
import { sharedConfig } from '../../vitest.shared.ts'

// The demo's story runs in-process and against real Redis, Memcached and NATS started by
// test/global-setup.ts (REDIS_URL, MEMCACHED_URL, NATS_URL override).
export default mergeConfig(sharedConfig, {
  resolve: {
    // The global setup is loaded without the source condition; point it at the source.
    alias: [
      {
        find: /^@cacheplane\/test-servers$/,
        replacement: fileURLToPath(new URL('../../tools/test-servers/src/index.ts', import.meta.url)),
      },
    ],
  },
  test: { globalSetup: ['./test/global-setup.ts'] },
})

import { describe, expect, it } from 'vitest'
import { probes } from '../src/probe.js'
import { resolveServer } from '../src/resolve-server.js'

// Binaries only, so the missing binary is what decides (this file gets fresh modules).
process.env.TEST_SERVERS_RUNTIME = 'binaries'
delete process.env.CACHEPLANE_FAKE_URL

describe('a server that cannot be provided', () => {
  it('fails (never skips) with an error saying how to get one', async () => {
    const start = resolveServer({
      name: 'FakeDB',
      envName: 'CACHEPLANE_FAKE_URL',
      defaultPort: 1,
      binaryName: 'cacheplane-no-such-server',
      container: () => {
        throw new Error('containers are off in this test')
      },
      process: (binary) => ({ kind: 'fake', binary, args: () => [], probe: probes.redis, url: () => '' }),
    })
    await expect(start).rejects.toThrow(
      "cannot start FakeDB: no container engine is reachable and 'cacheplane-no-such-server' is not on PATH. " +
        'Install the servers (Debian/Ubuntu: apt-get install -y redis-server memcached nats-server), ' +
        'or set CACHEPLANE_FAKE_URL to a running server, or start a Docker engine.',
    )
  })
})

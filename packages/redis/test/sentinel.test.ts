import { randomKey, waitFor } from '@cacheplane/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Instance, startInstance } from './manager-fixture.js'
import { type SentinelSetup, startSentinelSetup } from './sentinel-servers.js'

describe('managers over Redis Sentinel', () => {
  let setup: SentinelSetup
  const instances: Instance[] = []

  beforeAll(async () => {
    setup = await startSentinelSetup()
  })

  afterAll(async () => {
    await Promise.all(instances.map(({ cache }) => cache.close()))
    await setup?.stop()
  })

  it('keep working across a failover: both report a gap and converge on the new master', async () => {
    const redis = { sentinels: [setup.sentinel], name: setup.masterName, failoverDetector: true }
    const name = randomKey('sentinel')
    const writer = await startInstance({ redis }, name)
    const reader = await startInstance({ redis }, name)
    instances.push(writer, reader)
    await writer.cache.set('k', 'v1')
    expect(await reader.cache.get('k')).toBe('v1')
    const before = await setup.masterPort()
    const marks = [writer.events.length, reader.events.length]

    await setup.failover()
    expect(await setup.masterPort()).not.toBe(before)
    // ioredis' failoverDetector drops the connections on +switch-master: both subscriptions
    // come back on the new master and report a gap (their local copies are cleared).
    await writer.next('backplane', (e) => e.type === 'gap', marks[0])
    await reader.next('backplane', (e) => e.type === 'gap', marks[1])
    // Writes acknowledged by the old master during the switch may be lost (Redis replication is
    // asynchronous), so the write is repeated until the reader, too, reads it from Redis.
    await waitFor(
      async () => {
        await writer.cache.set('k', 'v2')
        return (await reader.cache.get('k')) === 'v2'
      },
      {
        timeoutMs: 15_000,
        intervalMs: 100,
        message: 'the new value, written on the new master, on the reader',
      },
    )
    expect(await writer.cache.get('k')).toBe('v2')
  })
})

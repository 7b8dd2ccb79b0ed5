import '@cacheplane/test-servers/provided-context'
import { createBackplaneHub } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { describe, expect, inject, it } from 'vitest'
import { type DemoInstance, localInstance } from '../src/instance.js'
import { runScenario } from '../src/scenario.js'
import { Timeline } from '../src/timeline.js'
import { buildCache, type InProcessShared, type Topology } from '../src/topology.js'

/** Runs the story on three instances in this process; returns the printed timeline. */
async function runDemo(topology: Topology, shared?: InProcessShared): Promise<string[]> {
  const lines: string[] = []
  const timeline = new Timeline((line) => lines.push(line))
  const cacheName = `demo-test-${Math.random().toString(36).slice(2, 8)}`
  const instances: DemoInstance[] = []
  try {
    for (const name of ['A', 'B', 'C']) {
      const cache = buildCache(cacheName, topology, shared)
      await cache.ready()
      instances.push(localInstance(name, cache, (heard) => timeline.heard(heard)))
    }
    timeline.begin()
    await runScenario(timeline, [instances[0]!, instances[1]!, instances[2]!])
    timeline.summary()
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${lines.join('\n')}`)
  } finally {
    await Promise.all(instances.map((instance) => instance.close()))
  }
  return lines
}

function expectStory(lines: string[], store: string) {
  const text = lines.join('\n')
  // B's first read comes from the shared store and is copied up; its second from memory.
  expect(text).toMatch(new RegExp(`B  get    'price:espresso' -> \\{"eur":2.5\\}  \\(from ${store}\\)`))
  expect(text).toMatch(/B {2}get {4}'price:espresso' -> \{"eur":2.5\} {2}\(from memory\)/)
  expect(text).toMatch(/A {2}invalidated 'price:espresso' \(remote update\)/)
  expect(text).toMatch(/C {2}invalidated region 'eu' \(remote clearRegion\)/)
  expect(text).toMatch(/12 invalidations delivered/)
  // Act 5: the store is cut off; each instance answers from its graced value, then recovers.
  expect(text).toMatch(
    /B {2}getOrAdd 'price:mocha' -> \{"eur":3\} {2}\(graced value, fail-safe: store-failed; source not called\)/,
  )
  expect(text).toMatch(
    /A {2}getOrAdd 'price:mocha' -> \{"eur":3\} {2}\(graced value, fail-safe: throttled; source not called\)/,
  )
  expect(text).toMatch(/C {2}getOrAdd 'price:mocha' -> \{"eur":3.4\} {2}\(cached\)/)
}

describe('pnpm demo', () => {
  it('runs in one process with no servers', async () => {
    const shared = {
      store: memoryHandle({ name: 'shared-store', distributed: true }),
      hub: createBackplaneHub(),
    }
    expectStory(await runDemo({ store: undefined, backplane: undefined }, shared), 'shared-store')
  })

  it('runs over Redis (store and pub/sub)', async () => {
    const url = inject('redisUrl')
    expectStory(await runDemo({ store: { kind: 'redis', url }, backplane: { kind: 'redis', url } }), 'redis')
  })

  it('runs over Memcached with a NATS backplane', async () => {
    const topology: Topology = {
      store: { kind: 'memcached', servers: inject('memcachedServers') },
      backplane: { kind: 'nats', url: inject('natsUrl') },
    }
    expectStory(await runDemo(topology), 'memcached')
  })
})

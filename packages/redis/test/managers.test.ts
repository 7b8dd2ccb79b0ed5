import type { KeyEvent } from '@cacheplane/core'
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { type Instance, startInstance } from './manager-fixture.js'
import { closeAll, mastersOf, topologies } from './topologies.js'

describe.each(topologies)('managers sharing $name Redis', (topology) => {
  const instances: Instance[] = []

  afterEach(async () => {
    await Promise.all(instances.splice(0).map(({ cache }) => cache.close()))
  })

  async function start(count: number, name = randomKey('cache')): Promise<Instance[]> {
    const started = await Promise.all(
      Array.from({ length: count }, () => startInstance(topology.options(), name)),
    )
    instances.push(...started)
    return started
  }

  const remote = (key: string, region: string | undefined) => (e: KeyEvent) =>
    e.origin === 'remote' && e.key === key && e.region === region

  it('propagates every operation, with regions, to the other managers', async () => {
    const [a, b, c] = (await start(3)) as [Instance, Instance, Instance]
    const others = [b, c]
    for (const region of [undefined, 'eu']) {
      const opts = region === undefined ? {} : { region }
      const readEverywhere = async (key: string) =>
        Promise.all(others.map(({ cache }) => cache.get(key, opts)))

      // set: the others have the old value in memory; after the event they read the new one.
      await a.cache.set('k', 1, opts)
      expect(await readEverywhere('k')).toEqual([1, 1])
      let mark = others.map((o) => o.events.length)
      await a.cache.set('k', 2, opts)
      expect(a.events.at(-1)).toEqual({ name: 'set', event: { key: 'k', region, origin: 'local' } })
      await Promise.all(others.map((o, i) => o.next('set', remote('k', region), mark[i])))
      expect(await readEverywhere('k')).toEqual([2, 2])

      // update (CAS on Redis, evicts above, announces)
      mark = others.map((o) => o.events.length)
      await a.cache.update('k', (v) => (v as number) + 10, opts)
      await Promise.all(others.map((o, i) => o.next('update', remote('k', region), mark[i])))
      expect(await readEverywhere('k')).toEqual([12, 12])

      // addOrUpdate on an existing key updates
      mark = others.map((o) => o.events.length)
      await a.cache.addOrUpdate('k', 0, (v) => (v as number) + 1, opts)
      await Promise.all(others.map((o, i) => o.next('update', remote('k', region), mark[i])))
      expect(await readEverywhere('k')).toEqual([13, 13])

      // expire
      mark = others.map((o) => o.events.length)
      await a.cache.expire('k', { mode: 'absolute', ttl: 60_000 }, opts)
      await Promise.all(others.map((o, i) => o.next('expire', remote('k', region), mark[i])))
      expect((await b.cache.getItem('k', opts))?.mode).toBe('absolute')

      // remove
      mark = others.map((o) => o.events.length)
      expect(await a.cache.remove('k', opts)).toBe(true)
      await Promise.all(others.map((o, i) => o.next('remove', remote('k', region), mark[i])))
      expect(await readEverywhere('k')).toEqual([undefined, undefined])

      // add: only one manager wins; everyone reads the winner's value
      const added = await Promise.all([a, b, c].map(({ cache }, i) => cache.add('fresh', `from ${i}`, opts)))
      expect(added.filter(Boolean)).toHaveLength(1)
      const winner = `from ${added.indexOf(true)}`
      expect(await Promise.all([a, b, c].map(({ cache }) => cache.get('fresh', opts)))).toEqual([
        winner,
        winner,
        winner,
      ])
    }

    // clearRegion clears only that region, everywhere
    await a.cache.set('x', 'eu', { region: 'eu' })
    await a.cache.set('x', 'us', { region: 'us' })
    expect(await b.cache.get('x', { region: 'eu' })).toBe('eu')
    let mark = b.events.length
    await a.cache.clearRegion('eu')
    await b.next('clearRegion', (e) => e.origin === 'remote' && e.region === 'eu', mark)
    expect(await b.cache.get('x', { region: 'eu' })).toBeUndefined()
    expect(await b.cache.get('x', { region: 'us' })).toBe('us')

    // clear
    await a.cache.set('y', 'v')
    expect(await c.cache.get('y')).toBe('v')
    mark = c.events.length
    await a.cache.clear()
    await c.next('clear', (e) => e.origin === 'remote', mark)
    expect(await c.cache.get('y')).toBeUndefined()
    expect(await c.cache.get('x', { region: 'us' })).toBeUndefined()
  })

  it('keeps two caches on one database apart: clears and frames', async () => {
    const [first, firstPeer] = (await start(2, randomKey('first'))) as [Instance, Instance]
    const [second] = (await start(1, randomKey('second'))) as [Instance]
    await first.cache.set('k', 'first')
    await second.cache.set('k', 'second', { region: 'r' })
    await second.cache.set('k', 'second')
    const mark = firstPeer.events.length
    await first.cache.clear()
    // The peer of `first` hears the clear; by then `second` would have heard it too if it could.
    await firstPeer.next('clear', (e) => e.origin === 'remote', mark)
    await first.cache.set('after', 1)
    await firstPeer.next('set', (e) => e.origin === 'remote' && e.key === 'after')
    expect(
      second.events.filter(
        (e) => e.name !== 'backplane' && 'origin' in e.event && e.event.origin === 'remote',
      ),
    ).toEqual([])
    expect(await second.cache.get('k')).toBe('second')
    expect(await second.cache.get('k', { region: 'r' })).toBe('second')
    expect(await first.cache.get('k')).toBeUndefined()
  })

  it('serves no stale value after its subscriber was killed while another manager wrote', async () => {
    const [writer, reader] = (await start(2)) as [Instance, Instance]
    await writer.cache.set('k', 'v1')
    expect(await reader.cache.get('k')).toBe('v1') // now in the reader's memory
    const admin = topology.connect()
    try {
      const mark = reader.events.length
      await Promise.all((await mastersOf(admin)).map((node) => node.client('KILL', 'TYPE', 'pubsub')))
      await writer.cache.set('k', 'v2') // its frame may be lost for the reader
      // The first gap clears at detection; the one that matters follows the new subscription.
      const gap = await reader.next(
        'backplane',
        (e) => e.type === 'gap' && e.gap.reason === 'reconnect',
        mark,
      )
      expect(gap).toMatchObject({ type: 'gap', action: 'cleared', gap: { recovered: false } })
      expect(await reader.cache.get('k')).toBe('v2')
      // ... and the resubscribed reader hears what follows.
      const after = reader.events.length
      await writer.cache.set('k', 'v3')
      await reader.next('set', (e) => e.origin === 'remote' && e.key === 'k', after)
      expect(await reader.cache.get('k')).toBe('v3')
    } finally {
      await closeAll([admin])
    }
  })

  it('works with one client of the application shared by handle and backplane, and leaves it open', async () => {
    const name = randomKey('shared-client')
    const clients = [topology.connect(), topology.connect()]
    try {
      const [a, b] = (await Promise.all(clients.map((client) => startInstance({ client }, name)))) as [
        Instance,
        Instance,
      ]
      instances.push(a, b)
      await a.cache.set('k', 1)
      expect(await b.cache.get('k')).toBe(1)
      const mark = b.events.length
      await a.cache.set('k', 2)
      await b.next('set', (e) => e.origin === 'remote' && e.key === 'k', mark)
      expect(await b.cache.get('k')).toBe(2)
      await Promise.all(instances.splice(0).map(({ cache }) => cache.close()))
      expect(await Promise.all(clients.map((client) => client.ping()))).toEqual(['PONG', 'PONG'])
    } finally {
      await closeAll(clients)
    }
  })

  it('gives exact totals for concurrent CAS updates from several managers', async () => {
    const managers = await start(3)
    const [first] = managers as [Instance]
    await first.cache.set('counter', 0)
    const perManager = 25
    await Promise.all(
      managers.flatMap(({ cache }) =>
        Array.from({ length: perManager }, () =>
          cache.update('counter', (v) => (v as number) + 1, { maxRetries: 1_000 }),
        ),
      ),
    )
    for (const { cache } of managers) {
      await waitFor(async () => (await cache.get('counter')) === 3 * perManager, {
        message: 'every manager reads the total',
      })
    }
  })
})

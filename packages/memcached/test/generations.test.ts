import { randomKey, waitFor } from '@cacheplane/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { KeyLayout } from '../src/key-layout.js'
import { boundHandle, item, rawClient, text } from './helpers.js'

const closers: Array<() => unknown> = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

function handle(...args: Parameters<typeof boundHandle>) {
  const created = boundHandle(...args)
  closers.push(() => created.close())
  return created
}

const read = async (h: ReturnType<typeof boundHandle>, key: string, region?: string) =>
  text((await h.get(key, region))?.value)

describe('clears by generation', () => {
  it('clearing one cache leaves another cache on the same server intact', async () => {
    const a = handle()
    const b = handle()
    for (const h of [a, b]) {
      await h.set('k', undefined, item('plain'))
      await h.set('k', 'eu', item('eu'))
      await h.set('k', 'us', item('us'))
    }
    await a.clearRegion('eu')
    expect(await read(a, 'k', 'eu')).toBeUndefined()
    expect(await read(a, 'k', 'us')).toBe('us')
    expect(await read(a, 'k')).toBe('plain')
    expect(await read(b, 'k', 'eu')).toBe('eu')

    await a.clear()
    for (const region of [undefined, 'eu', 'us']) expect(await read(a, 'k', region)).toBeUndefined()
    expect(await read(b, 'k')).toBe('plain')
    expect(await read(b, 'k', 'eu')).toBe('eu')
    expect(await read(b, 'k', 'us')).toBe('us')
    // The cleared cache is usable at once.
    await a.set('k', 'eu', item('again'))
    expect(await read(a, 'k', 'eu')).toBe('again')
  })

  it('other instances see a clear within generationRefreshMs without a backplane', async () => {
    const cacheName = randomKey('gen')
    const writer = handle({}, cacheName)
    const reader = handle({ generationRefreshMs: 200 }, cacheName)
    await writer.set('k', undefined, item('v'))
    await writer.set('k', 'eu', item('v'))
    expect(await read(reader, 'k')).toBe('v')
    expect(await read(reader, 'k', 'eu')).toBe('v')
    await writer.clearRegion('eu')
    await waitFor(async () => (await read(reader, 'k', 'eu')) === undefined)
    expect(await read(reader, 'k')).toBe('v')
    await writer.clear()
    await waitFor(async () => (await read(reader, 'k')) === undefined)
  })

  it('onRemoteClear refreshes the generation at once (what core calls on a backplane clear)', async () => {
    const cacheName = randomKey('gen')
    const writer = handle({}, cacheName)
    // A refresh interval far beyond the test: only onRemoteClear can make it notice.
    const reader = handle({ generationRefreshMs: 600_000 }, cacheName)
    await writer.set('k', undefined, item('v'))
    await writer.set('k', 'eu', item('v'))
    expect(await read(reader, 'k')).toBe('v')
    expect(await read(reader, 'k', 'eu')).toBe('v')

    await writer.clearRegion('eu')
    // Still the old generation locally: the stale copy is what onRemoteClear exists to fix.
    expect(await read(reader, 'k', 'eu')).toBe('v')
    await reader.onRemoteClear('eu')
    expect(await read(reader, 'k', 'eu')).toBeUndefined()

    await writer.clear()
    expect(await read(reader, 'k')).toBe('v')
    await reader.onRemoteClear(undefined)
    expect(await read(reader, 'k')).toBeUndefined()
  })

  it('onRemoteClear(undefined), as core calls it on a gap, re-reads every region counter too', async () => {
    const cacheName = randomKey('gen')
    const writer = handle({}, cacheName)
    const reader = handle({ generationRefreshMs: 600_000 }, cacheName)
    await writer.set('k', 'eu', item('v'))
    expect(await read(reader, 'k', 'eu')).toBe('v')
    // The region clear's message was lost; the gap that reports the loss does not say which region.
    await writer.clearRegion('eu')
    await reader.onRemoteClear(undefined)
    expect(await read(reader, 'k', 'eu')).toBeUndefined()
  })

  it('reports a clear it finds by itself through onExternalClear, never one it was told of', async () => {
    const cacheName = randomKey('gen')
    const writer = handle({}, cacheName)
    const reader = handle({ generationRefreshMs: 100 }, cacheName)
    const reports: Array<string | undefined> = []
    reader.onExternalClear((region) => reports.push(region))
    for (const region of [undefined, 'eu', 'us']) {
      await writer.set('k', region, item('v'))
      expect(await read(reader, 'k', region)).toBe('v')
    }
    // Nothing reads through the reader from here on: its periodic sweep alone must notice.
    await writer.clearRegion('eu')
    await waitFor(() => reports.includes('eu'), { message: "the region clear of 'eu' reported" })
    await writer.clearRegion('us')
    await reader.onRemoteClear('us')
    await writer.clear()
    await waitFor(() => reports.includes(undefined), { message: 'the cache clear reported' })
    expect(reports).toEqual(['eu', undefined])
  })

  it('a read right after onRemoteClear (not awaited, as core calls it) sees the new generation', async () => {
    const cacheName = randomKey('gen')
    const writer = handle({}, cacheName)
    const reader = handle({ generationRefreshMs: 600_000 }, cacheName)
    await writer.set('k', 'eu', item('v'))
    await writer.set('k', undefined, item('v'))
    expect(await read(reader, 'k', 'eu')).toBe('v')
    expect(await read(reader, 'k')).toBe('v')
    // Let the refresh's own counter read start (a few microtasks), as it has by the time an
    // application reads after the remote clear event: a read then must join it, not use the old value.
    const refreshStarted = async () => {
      for (let i = 0; i < 5; i++) await Promise.resolve()
    }
    await writer.clearRegion('eu')
    void reader.onRemoteClear('eu')
    await refreshStarted()
    expect(await read(reader, 'k', 'eu')).toBeUndefined()
    await writer.clear()
    void reader.onRemoteClear(undefined)
    await refreshStarted()
    expect(await read(reader, 'k')).toBeUndefined()
  })

  it('a lost generation counter never brings old items back', async () => {
    const cacheName = randomKey('gen')
    const first = handle({}, cacheName)
    const start = Date.now()
    await first.set('k', undefined, item('old'))
    await first.clear()
    // Counters start at the time in ms: a counter lost within the same millisecond is not the case tested.
    await waitFor(() => Date.now() > start + 5)
    // Memcached evicted the counter (or its server restarted).
    const raw = rawClient()
    closers.push(() => raw.close())
    expect(await raw.delete(new KeyLayout('cacheplane:', cacheName).cacheGenerationKey)).toBe(true)
    await first.clear()
    const second = handle({}, cacheName)
    expect(await read(second, 'k')).toBeUndefined()
  })

  it('instances creating the generation counters of a new cache at once all succeed', async () => {
    // Each instance's first write creates the counters with incr-with-initial; when several do it
    // at the same moment Memcached answers the losers NOT_STORED, which must not fail the write.
    for (let round = 0; round < 20; round++) {
      const cacheName = randomKey('gen-race')
      const instances = Array.from({ length: 6 }, () => handle({}, cacheName))
      const results = await Promise.all(instances.map((h, i) => h.add(`k${i}`, 'eu', item(`v${i}`))))
      expect(results).toEqual(instances.map(() => true))
      for (const [i, h] of instances.entries()) expect(await read(h, `k${i}`, 'eu')).toBe(`v${i}`)
    }
  })
})

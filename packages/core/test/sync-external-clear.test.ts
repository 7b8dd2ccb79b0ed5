// A handle that finds its cache or a region cleared behind its back (onExternalClear): the
// levels above it drop that scope, as on a remote clear, fence included.
import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type CacheHandle,
  CacheManager,
  type ClearEvent,
  type ClearRegionEvent,
  type ExternalClearListener,
} from '../src/index.js'
import { holdableHandle } from './sync-fixtures.js'

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

/** memory over a distributed store whose handle can report an external clear on demand. */
function setup() {
  const shared = memoryHandle({ name: 'shared', distributed: true })
  const held = holdableHandle(shared as CacheHandle<unknown>)
  const listeners = new Set<ExternalClearListener>()
  held.handle.onExternalClear = (listener) => {
    listeners.add(listener)
    return () => listeners.delete(listener)
  }
  const memory = memoryHandle({ name: 'memory' })
  const cache = new CacheManager<string>({ name: 'c', handles: [memory, held.handle] })
  closers.push(() => cache.close())
  const clears: Array<ClearEvent | ClearRegionEvent> = []
  cache.on('clear', (event) => clears.push(event))
  cache.on('clearRegion', (event) => clears.push(event))
  const report = (region: string | undefined) => {
    for (const listener of listeners) listener(region)
  }
  return { cache, memory, shared, held, listeners, report, clears }
}

describe('a clear a handle found behind its back (onExternalClear)', () => {
  it('drops that scope from the levels above, leaves the reporting handle alone, emits remote events', async () => {
    const { cache, memory, shared, report, clears } = setup()
    await cache.set('k', 'in r', { region: 'r' })
    await cache.set('k', 'plain')
    expect(memory.get('k', 'r')?.value).toBe('in r')

    report('r')
    expect(memory.get('k', 'r')).toBeUndefined()
    expect(memory.get('k', undefined)?.value).toBe('plain')
    expect(shared.get('k', 'r')).toBeDefined() // the store's own business: it reported the clear
    expect(clears).toEqual([{ region: 'r', origin: 'remote' }])

    report(undefined)
    expect(memory.get('k', undefined)).toBeUndefined()
    expect(clears).toEqual([{ region: 'r', origin: 'remote' }, { origin: 'remote' }])
  })

  it('a read in flight when the clear is reported does not copy its old item up', async () => {
    const { cache, memory, held, report } = setup()
    await cache.set('k', 'old', { region: 'r' })
    memory.clear()
    const { reached, release } = held.holdNextGet()
    const read = cache.get('k', { region: 'r' })
    await reached // the lower read has the old item in hand
    report('r')
    release()
    expect(await read).toBe('old')
    expect(memory.get('k', 'r')).toBeUndefined()
  })

  it('close unsubscribes the listener', async () => {
    const { cache, listeners } = setup()
    expect(listeners.size).toBe(1)
    await cache.close()
    expect(listeners.size).toBe(0)
  })
})

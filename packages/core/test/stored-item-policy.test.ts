// The corrupt-item policy every bytes handle follows (stored-item.ts), checked on a small
// handle built from core's parts the way an adapter author would, and through a manager.
import { describe, expect, it } from 'vitest'
import type { CacheHandle, ErrorEvent, HandleCapabilities, ItemInput, StoredItem } from '../src/index.js'
import {
  CacheManager,
  ConflictError,
  decodeStoredItem,
  encodeEnvelope,
  escapeSegment,
  ItemCorruptError,
  newVersion,
  RETRY_ROUND,
  retryCompareAndSet,
  unescapeSegment,
} from '../src/index.js'

const capabilities: HandleCapabilities = {
  distributed: true,
  bytes: true,
  cas: true,
  sliding: false,
  maxTtlMs: Number.POSITIVE_INFINITY,
  ttlGranularityMs: 1,
  clearRegion: 'scan',
  synchronous: false,
}

/** A bytes store in a Map that follows the policy through decodeStoredItem. */
function envelopeStore(name = 'bytes') {
  const bytes = new Map<string, Uint8Array>()
  const at = (key: string, region: string | undefined) => `${region ?? ''}:${key}`
  const live = (item: StoredItem<Uint8Array>) => item.mode === 'none' || item.expiresAt > Date.now()
  const read = (storeKey: string) => {
    const raw = bytes.get(storeKey)
    if (raw === undefined) return undefined
    const item = decodeStoredItem(raw, name, storeKey)
    return live(item) ? item : undefined
  }
  const write = (storeKey: string, item: ItemInput<Uint8Array>, version = item.version ?? newVersion()) => {
    bytes.set(storeKey, encodeEnvelope({ ...item, version }))
    return version
  }
  const handle: CacheHandle<Uint8Array> = {
    name,
    capabilities,
    get: async (key, region) => read(at(key, region)),
    peek: async (key, region) => read(at(key, region)),
    async add(key, region, item) {
      // Taken when anything is there: a live item, or bytes it cannot read.
      try {
        if (read(at(key, region)) !== undefined) return false
      } catch (error) {
        if (error instanceof ItemCorruptError) return false
        throw error
      }
      write(at(key, region), item)
      return true
    },
    set: async (key, region, item) => write(at(key, region), item),
    async update(key, region, expected, item) {
      const current = read(at(key, region))
      if (current === undefined) return { status: 'missing' }
      if (current.version !== expected) return { status: 'conflict' }
      return { status: 'ok', version: write(at(key, region), item) }
    },
    remove: async (key, region) => bytes.delete(at(key, region)),
    async expire(key, region, mode, ttl, expiresAt) {
      const current = read(at(key, region))
      if (current === undefined) return false
      write(at(key, region), { ...current, mode, ttl, expiresAt }, newVersion())
      return true
    },
    clear: () => bytes.clear(),
    clearRegion: (region) => {
      for (const key of bytes.keys()) if (key.startsWith(`${escapeSegment(region)}:`)) bytes.delete(key)
    },
    close: () => {},
  }
  return { handle, bytes, corrupt: (key: string) => bytes.set(at(key, undefined), new Uint8Array([1, 2, 3])) }
}

describe('decodeStoredItem', () => {
  it('returns the item of an envelope and throws ItemCorruptError naming the handle and key for anything else', () => {
    const item = {
      value: new Uint8Array([7]),
      mode: 'none',
      ttl: 0,
      expiresAt: 0,
      created: 1,
      version: 5,
    } as const
    expect(decodeStoredItem(encodeEnvelope(item), 'h')).toMatchObject({ version: 5, mode: 'none' })
    for (const bad of [new Uint8Array(0), new Uint8Array(40), encodeEnvelope(item).subarray(0, 20)]) {
      let thrown: unknown
      try {
        decodeStoredItem(bad, 'h', 'cache::k')
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(ItemCorruptError)
      expect(thrown).toMatchObject({ source: 'h', message: expect.stringContaining("'cache::k'") })
    }
  })
})

describe('a corrupt item, through a manager', () => {
  async function setup() {
    const store = envelopeStore()
    const cache = new CacheManager<string>({
      name: 'policy',
      handles: [store.handle as CacheHandle<unknown>],
    })
    const errors: ErrorEvent[] = []
    cache.on('error', (event) => errors.push(event))
    await cache.set('k', 'good')
    store.corrupt('k')
    return { cache, errors, store }
  }

  it('reads as a miss with an E_ITEM_CORRUPT error event, and the bytes stay until a write', async () => {
    const { cache, errors, store } = await setup()
    expect(await cache.get('k')).toBeUndefined()
    expect(errors.map((event) => [event.operation, event.error.code])).toEqual([['get', 'E_ITEM_CORRUPT']])
    expect(store.bytes.get(':k')).toEqual(new Uint8Array([1, 2, 3]))
    await cache.set('k', 'fresh')
    expect(await cache.get('k')).toBe('fresh')
  })

  it("is a taken key to the handle's add and an error to update and expire; core's add and getOrAdd replace it", async () => {
    const { cache, store } = await setup()
    expect(await store.handle.add('k', undefined, await item())).toBe(false)
    await expect(store.handle.update('k', undefined, 1, { ...(await item()) })).rejects.toBeInstanceOf(
      ItemCorruptError,
    )
    await expect(
      store.handle.expire('k', undefined, 'absolute', 1_000, Date.now() + 1_000),
    ).rejects.toBeInstanceOf(ItemCorruptError)
    expect(await cache.getOrAdd('k', () => 'made')).toBe('made')
    expect(await cache.get('k')).toBe('made')
    store.corrupt('k')
    expect(await cache.add('k', 'added')).toBe(true)
    expect(await cache.get('k')).toBe('added')
  })
})

async function item(): Promise<ItemInput<Uint8Array>> {
  return { value: new Uint8Array([1]), mode: 'none', ttl: 0, expiresAt: 0, created: Date.now() }
}

describe('retryCompareAndSet', () => {
  it('runs rounds until one decides, and throws ConflictError naming the operation after the last', async () => {
    let rounds = 0
    const decided = await retryCompareAndSet(async () => (++rounds < 3 ? RETRY_ROUND : 'done'), {
      operation: 'expire',
      key: 'k',
      source: 'h',
    })
    expect({ decided, rounds }).toEqual({ decided: 'done', rounds: 3 })
    rounds = 0
    const lose = async () => {
      rounds++
      return RETRY_ROUND
    }
    const lost = retryCompareAndSet(lose, {
      operation: 'expire',
      key: 'k',
      source: 'h',
      maxAttempts: 4,
    })
    await expect(lost).rejects.toBeInstanceOf(ConflictError)
    await expect(lost).rejects.toMatchObject({ code: 'E_CONFLICT', source: 'h' })
    expect(rounds).toBe(4)
  })
})

describe('unescapeSegment', () => {
  it('inverts escapeSegment', () => {
    for (const segment of ['plain', 'a:b', '%3A', '%25:%', 'x%253Ay', '::%%']) {
      expect(unescapeSegment(escapeSegment(segment))).toBe(segment)
    }
  })
})

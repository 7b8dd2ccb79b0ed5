// Every check of the CacheHandle conformance suite must be able to fail: each one is run
// against handles broken in one way (memory handles with one behaviour changed, and a
// shared in-process store) and must reject for at least one of them. A check that passes
// for every broken handle would prove nothing for the handles it passes for.
import { memoryHandle } from '@cacheplane/memory'
import { describe, expect, test } from 'vitest'
import type {
  BulkEntry,
  CacheHandle,
  ExpirationMode,
  ItemInput,
  MaybePromise,
  StoredItem,
} from '../src/contracts/cache-handle.js'
import type { HandleLock } from '../src/contracts/handle-lock.js'
import {
  describeCacheHandle,
  handleCheckGroups,
  handleSuiteContext,
  probeHandle,
} from '../src/testing/describe-cache-handle.js'
import type { DescribeCacheHandleOptions } from '../src/testing/handle-suite-context.js'
import { type SharedStoreFaults, sharedStoreHandles } from './shared-store-handle.js'

type Factory = () => MaybePromise<CacheHandle>
type Members = Partial<Record<keyof CacheHandle, unknown>>

const OPTIONAL = [
  'touch',
  'peek',
  'getMany',
  'setMany',
  'removeMany',
  'onEvict',
  'bind',
  'onRemoteClear',
  'onExternalClear',
] as const
const REQUIRED = ['get', 'add', 'set', 'update', 'remove', 'expire', 'clear', 'clearRegion', 'close'] as const

/** A handle that forwards every member to `inner`, with `changes` replacing some (undefined removes one). */
function altered(inner: CacheHandle, changes: Members): CacheHandle {
  const out: Record<string, unknown> = { name: inner.name, capabilities: inner.capabilities }
  for (const member of [...REQUIRED, ...OPTIONAL]) {
    const f = inner[member]
    if (typeof f === 'function') out[member] = f.bind(inner)
  }
  if (inner.lock !== undefined) out.lock = inner.lock
  for (const [member, change] of Object.entries(changes)) {
    if (change === undefined) delete out[member]
    else out[member] = change
  }
  return out as unknown as CacheHandle
}

const objects = () => memoryHandle({ sweepIntervalMs: 0 })
const bytes = () => memoryHandle({ distributed: true, sweepIntervalMs: 0 })

/** A memory handle (objects, or bytes) with `changes(inner)` applied. */
const broken =
  (changes: (inner: CacheHandle) => Members, base: () => CacheHandle = objects): Factory =>
  () => {
    const inner = base()
    return altered(inner, changes(inner))
  }

/** The item as a plain input, with `changes` (memory entries keep times in getters a spread loses). */
const copy = (item: StoredItem, changes: Partial<ItemInput> = {}): ItemInput => ({
  value: item.value,
  mode: item.mode,
  ttl: item.ttl,
  expiresAt: item.expiresAt,
  created: item.created,
  version: item.version,
  grace: item.grace,
  ...changes,
})

/** A handle whose writes go through `rewrite` first (set, add, update). */
const rewriting = (rewrite: (item: ItemInput) => ItemInput, base = objects) =>
  broken(
    (inner) => ({
      set: (k: string, r: string | undefined, item: ItemInput) => inner.set(k, r, rewrite(item)),
      add: (k: string, r: string | undefined, item: ItemInput) => inner.add(k, r, rewrite(item)),
      update: (k: string, r: string | undefined, v: number, item: ItemInput) =>
        inner.update(k, r, v, rewrite(item)),
    }),
    base,
  )

const without = (field: 'version' | 'grace') => (item: ItemInput) => {
  const { [field]: _dropped, ...rest } = item
  return rest as ItemInput
}

/** Assigns versions per key from 1, forgetting them on remove and clear: versions repeat (ABA). */
function restartingVersions(): Factory {
  return broken((inner) => {
    const counters = new Map<string, number>()
    const id = (k: string, r: string | undefined) => `${r ?? ''}\u0000${k}`
    const next = (k: string, r: string | undefined, item: ItemInput): ItemInput => {
      const version = item.version ?? (counters.get(id(k, r)) ?? 0) + 1
      counters.set(id(k, r), version)
      return { ...item, version }
    }
    return {
      set: (k: string, r: string | undefined, item: ItemInput) => inner.set(k, r, next(k, r, item)),
      add: (k: string, r: string | undefined, item: ItemInput) => inner.add(k, r, next(k, r, item)),
      update: (k: string, r: string | undefined, v: number, item: ItemInput) =>
        inner.update(k, r, v, next(k, r, item)),
      remove: (k: string, r: string | undefined) => {
        counters.delete(id(k, r))
        return inner.remove(k, r)
      },
      clear: () => {
        counters.clear()
        return inner.clear()
      },
      clearRegion: (r: string) => {
        for (const name of counters.keys()) if (name.startsWith(`${r}\u0000`)) counters.delete(name)
        return inner.clearRegion(r)
      },
    }
  })
}

const DAY_MS = 24 * 60 * 60 * 1000

/** A shared-store memory handle (it has a lock) whose lock is `change(inner lock)`. */
const brokenLock = (change: (lock: HandleLock, inner: CacheHandle) => HandleLock) =>
  broken((inner) => ({ lock: change(inner.lock!, inner) }), bytes)

/** A broken handle, and the titles of the checks that must fail for it. */
interface Fault {
  readonly factory: Factory
  readonly options?: DescribeCacheHandleOptions
  readonly breaks: readonly string[]
}

const faults: Record<string, Fault> = {
  'get never misses': {
    factory: broken((inner) => ({
      get: async (k: string, r: string | undefined) =>
        (await inner.get(k, r)) ?? {
          value: { text: '' },
          mode: 'none',
          ttl: 0,
          expiresAt: 0,
          created: 0,
          version: 1,
        },
    })),
    breaks: ['get of a missing key is undefined'],
  },
  'set reports no version': {
    factory: broken((inner) => ({
      set: async (k: string, r: string | undefined, item: ItemInput) => (await inner.set(k, r, item)) && 0,
    })),
    breaks: ['set then get returns the value and its metadata'],
  },
  'explicit versions ignored': {
    factory: rewriting(without('version')),
    breaks: [
      'every set gives a new version; an explicit version is stored as is',
      'add writes only when the key is absent',
      'stores an explicit version as is',
    ],
  },
  'add overwrites': {
    factory: broken((inner) => ({
      add: async (k: string, r: string | undefined, item: ItemInput) => (await inner.set(k, r, item)) > 0,
    })),
    breaks: ['add writes only when the key is absent'],
  },
  'remove reports the opposite': {
    factory: broken((inner) => ({
      remove: async (k: string, r: string | undefined) => !(await inner.remove(k, r)),
    })),
    breaks: ['remove deletes the item and reports whether there was one'],
  },
  'clear does nothing': {
    factory: broken(() => ({ clear: () => {} })),
    breaks: ['clear removes every item, with and without regions'],
  },
  'getMany in reverse order': {
    factory: broken((inner) => ({
      getMany: async (keys: readonly string[], r: string | undefined) =>
        [...(await inner.getMany!(keys, r))].reverse(),
    })),
    breaks: ['getMany returns items in the order of the keys'],
  },
  'barrier fails': {
    factory: broken(() => ({
      barrier: async () => {
        throw new Error('the connection is gone')
      },
    })),
    breaks: ['barrier answers, with writes in flight and on an idle handle'],
  },
  'peek always misses': {
    factory: broken(() => ({ peek: () => undefined })),
    breaks: ['peek returns the item as get does, and undefined for a missing key'],
  },
  'keys cut at the first separator': {
    factory: broken((inner) => {
      const cut = (k: string) => k.split(/[\s:%{]/)[0] as string
      return {
        set: (k: string, r: string | undefined, item: ItemInput) => inner.set(cut(k), r, item),
        get: (k: string, r: string | undefined) => inner.get(cut(k), r),
      }
    }),
    breaks: ['odd keys round-trip and stay distinct'],
  },
  'region joined into the key with a colon': {
    factory: broken((inner) => {
      const joined = (k: string, r: string | undefined) => (r === undefined ? k : `${r}:${k}`)
      return {
        set: (k: string, r: string | undefined, item: ItemInput) => inner.set(joined(k, r), undefined, item),
        get: (k: string, r: string | undefined) => inner.get(joined(k, r), undefined),
        clearRegion: () => inner.clear(),
      }
    }),
    breaks: ['region a + key b:c is not region a:b + key c'],
  },
  'values through JSON': {
    factory: rewriting((item) => ({ ...item, value: JSON.parse(JSON.stringify(item.value)) })),
    breaks: ['objects: values of any kind round-trip'],
  },
  'bytes cut at the first NUL': {
    factory: rewriting((item) => {
      const value = item.value as Uint8Array
      const nul = value.indexOf(0)
      return { ...item, value: nul === -1 ? value : value.slice(0, nul) }
    }, bytes),
    options: { sharedStore: false },
    breaks: [
      'bytes: every byte value round-trips',
      'bytes: NUL bytes round-trip',
      'bytes: a single NUL byte round-trips',
      'bytes: a large value round-trips',
    ],
  },
  'claims copiesBytes, keeps the arrays': {
    // The distributed memory handle stores the array it is given, as it is.
    factory: () => {
      const inner = bytes()
      return { ...altered(inner, {}), capabilities: { ...inner.capabilities, copiesBytes: true } }
    },
    options: { sharedStore: false },
    breaks: ['copiesBytes: an array written by set, add, update or setMany can be reused at once'],
  },
  'values cut at 64 KiB': {
    factory: rewriting((item) => ({ ...item, value: (item.value as Uint8Array).slice(0, 64 * 1024) }), bytes),
    options: { sharedStore: false },
    breaks: ['bytes: a large value round-trips'],
  },
  'regions ignored': {
    factory: broken((inner) => ({
      set: (k: string, _r: string | undefined, item: ItemInput) => inner.set(k, undefined, item),
      get: (k: string) => inner.get(k, undefined),
      remove: (k: string) => inner.remove(k, undefined),
      add: (k: string, _r: string | undefined, item: ItemInput) => inner.add(k, undefined, item),
    })),
    breaks: ['the same key in two regions and in none is three items'],
  },
  'clearRegion clears everything': {
    factory: broken((inner) => ({ clearRegion: () => inner.clear() })),
    breaks: ['clearRegion removes one region only'],
  },
  'update reports the expected version as the new one': {
    factory: broken((inner) => ({
      update: async (k: string, r: string | undefined, v: number, item: ItemInput) => {
        const outcome = await inner.update(k, r, v, item)
        return outcome.status === 'ok' ? { status: 'ok', version: v } : outcome
      },
    })),
    breaks: ['writes when the expected version matches, with a new version'],
  },
  'update ignores the expected version': {
    factory: broken((inner) => ({
      update: async (k: string, r: string | undefined, _v: number, item: ItemInput) => ({
        status: 'ok',
        version: await inner.set(k, r, item),
      }),
    })),
    breaks: [
      'reports a conflict for a stale version and leaves the item alone',
      'reports missing when there is no item (in that region)',
      'concurrent read-modify-write loops lose no increment',
    ],
  },
  'versions restart after remove and clear': {
    factory: restartingVersions(),
    breaks: [
      'an update prepared before remove + add conflicts with the new item',
      'an update prepared before remove + set, clear + add or clearRegion + add conflicts',
      'a key written, updated, expired, removed and cleared again and again never repeats a version',
    ],
  },
  'expire keeps the version': {
    factory: broken((inner) => ({
      expire: async (...args: Parameters<CacheHandle['expire']>) => {
        const [k, r] = args
        const before = await inner.peek!(k, r)
        if (!(await inner.expire(...args)) || before === undefined) return false
        await inner.set(k, r, copy((await inner.peek!(k, r)) as StoredItem, { version: before.version }))
        return true
      },
    })),
    breaks: ['expire is a write: an update prepared before it conflicts'],
  },
  'TTLs ignored': {
    factory: broken((inner) => {
      const forever = (item: ItemInput): ItemInput => ({ ...item, mode: 'none', ttl: 0, expiresAt: 0 })
      return {
        set: (k: string, r: string | undefined, item: ItemInput) => inner.set(k, r, forever(item)),
        add: (k: string, r: string | undefined, item: ItemInput) => inner.add(k, r, forever(item)),
        expire: (k: string, r: string | undefined) => inner.expire(k, r, 'none', 0, 0),
      }
    }),
    breaks: [
      'an item is returned until its TTL passes, then never again',
      'add succeeds again once the item expired',
      'expire() gives an item without expiry a TTL',
      'each read extends the item; it expires once reads stop',
      'expire() can make an item sliding',
    ],
  },
  'TTLs over 30 days read as a past timestamp (as Memcached would)': {
    factory: rewriting((item) => (item.ttl > 30 * DAY_MS ? { ...item, expiresAt: item.created - 1 } : item)),
    breaks: ['a long TTL is kept (up to 60 days, or maxTtlMs)'],
  },
  'expire does nothing and reports true': {
    factory: broken(() => ({ expire: () => true })),
    breaks: [
      'expire() gives an item without expiry a TTL',
      'expire() to none removes the expiry',
      'expire() of a missing item is false and creates nothing',
    ],
  },
  'sliding items expire as absolute ones': {
    factory: broken((inner) => ({
      set: (k: string, r: string | undefined, item: ItemInput) =>
        inner.set(k, r, item.mode === 'sliding' ? { ...item, mode: 'absolute' } : item),
      expire: (...[k, r, mode, ttl, at]: Parameters<CacheHandle['expire']>) =>
        inner.expire(k, r, mode === 'sliding' ? 'absolute' : mode, ttl, at),
    })),
    // A long TTL: the check skips its assertion when the machine stalls for most of a TTL.
    options: { shortTtlMs: 1_000 },
    breaks: ['each read extends the item; it expires once reads stop', 'expire() can make an item sliding'],
  },
  'touch reports true and extends nothing': {
    factory: broken(() => ({ touch: () => true })),
    breaks: ['touch() extends a sliding item without reading it'],
  },
  'peek extends like get': {
    factory: broken((inner) => ({ peek: (k: string, r: string | undefined) => inner.get(k, r) })),
    breaks: ['peek() reads a sliding item without extending it'],
  },
  'grace dropped': {
    factory: rewriting(without('grace')),
    breaks: [
      'an item is returned past expiresAt with its grace, until expiresAt + grace',
      'an item in its grace window is present: add refuses it, update replaces it',
    ],
  },
  'grace invented': {
    factory: broken((inner) => ({
      get: (k: string, r: string | undefined) => {
        const item = inner.get(k, r) as StoredItem | undefined
        return item === undefined ? undefined : { ...copy(item), grace: item.grace || 60_000 }
      },
    })),
    breaks: ['an item without grace carries none'],
  },
  'two factory() calls share one store': {
    factory: (() => {
      const one = objects()
      return () => altered(one, { close: () => {}, bind: () => {} })
    })(),
    breaks: ['handles from two factory() calls are separate stores'],
  },
  'claims synchronous, answers with promises': {
    factory: broken((inner) => {
      const later =
        (f: (...args: never[]) => unknown) =>
        async (...args: never[]) =>
          f(...args)
      return Object.fromEntries(REQUIRED.map((m) => [m, later(inner[m].bind(inner) as never)]))
    }),
    breaks: ['claims synchronous: no operation returns a promise'],
  },
  'onEvict returns no unsubscribe function': {
    factory: broken(() => ({ onEvict: () => undefined })),
    breaks: ['onEvict returns an unsubscribe function'],
  },
  'close rejects': {
    // Only once used: the suite closes an unused probe handle before any test.
    factory: broken((inner) => {
      let used = false
      return {
        set: (k: string, r: string | undefined, item: ItemInput) => {
          used = true
          return inner.set(k, r, item)
        },
        close: () => (used ? Promise.reject(new Error('close failed')) : undefined),
      }
    }),
    breaks: ['close resolves'],
  },
  'expire revives an item in its grace window': revivingExpire(),
  'expire drops the grace': {
    factory: broken(
      (inner) => ({
        expire: (k: string, r: string | undefined, mode: ExpirationMode, ttl: number, expiresAt: number) => {
          const item = inner.get(k, r) as StoredItem | undefined
          if (item === undefined) return false
          inner.set(k, r, copy(item, { mode, ttl, expiresAt, version: undefined, grace: undefined }))
          return true
        },
      }),
      bytes,
    ),
    breaks: ["expire keeps an item's grace, through a `none` expiry and back to `absolute`"],
  },
  ...lockFaults(),
  ...bulkFaults(),
  ...sharedStoreFaults(),
}

/** Faults of the cluster lock, on a memory handle playing a shared store (it has one). */
function lockFaults(): Record<string, Fault> {
  return {
    'any owner releases a lock': {
      factory: brokenLock((lock) => ({
        acquire: (k, r, owner, ttl) => lock.acquire(k, r, owner, ttl),
        release: (k, r) => lock.release(k, r, 'a'),
      })),
      breaks: ['one owner takes a lock; only that owner releases it'],
    },
    'one lock per key, whatever the region': {
      factory: brokenLock((lock) => ({
        acquire: (k, _r, owner, ttl) => lock.acquire(k, undefined, owner, ttl),
        release: (k, _r, owner) => lock.release(k, undefined, owner),
      })),
      breaks: ['locks of a key in two regions, or of two keys, are separate'],
    },
    'clear drops the locks': {
      factory: broken((inner) => {
        const lock = inner.lock!
        const taken: Array<[string, string | undefined, string]> = []
        return {
          lock: {
            acquire: async (k: string, r: string | undefined, owner: string, ttl: number) => {
              const ok = await lock.acquire(k, r, owner, ttl)
              if (ok) taken.push([k, r, owner])
              return ok
            },
            release: (k: string, r: string | undefined, owner: string) => lock.release(k, r, owner),
          },
          clear: async () => {
            for (const [k, r, owner] of taken.splice(0)) await lock.release(k, r, owner)
            return inner.clear()
          },
        }
      }, bytes),
      breaks: ['a lock is not an item, and clears leave it'],
    },
    'locks never expire': {
      factory: brokenLock((lock) => ({
        acquire: (k, r, owner) => lock.acquire(k, r, owner, DAY_MS),
        release: (k, r, owner) => lock.release(k, r, owner),
      })),
      breaks: ['a lock expires after its TTL (a crashed holder blocks no one for longer)'],
    },
  }
}

/** A memory handle (bytes) whose expire re-times an item kept for its grace, reviving it. */
function revivingExpire(): Fault {
  return {
    factory: broken(
      (inner) => ({
        expire: (k: string, r: string | undefined, mode: ExpirationMode, ttl: number, expiresAt: number) => {
          const item = inner.get(k, r) as StoredItem | undefined
          if (item === undefined) return false
          inner.set(k, r, copy(item, { mode, ttl, expiresAt, version: undefined }))
          return true
        },
      }),
      bytes,
    ),
    breaks: ['expire refuses an item in its grace window: re-timing it would revive an expired value'],
  }
}

/** Faults of the optional bulk members of a memory handle. */
function bulkFaults(): Record<string, Fault> {
  return {
    'getMany answers in reverse': {
      factory: broken((inner) => ({
        getMany: (keys: readonly string[], r: string | undefined) => inner.getMany!([...keys].reverse(), r),
      })),
      breaks: ['getMany returns each key as get would, in order, scoped to its region'],
    },
    'setMany drops explicit versions': {
      factory: broken((inner) => ({
        setMany: (entries: ReadonlyArray<BulkEntry>, r: string | undefined) =>
          inner.setMany!(
            entries.map((e) => ({ key: e.key, item: without('version')(e.item) })),
            r,
          ),
      })),
      breaks: ['setMany writes every entry as set would and returns their versions in order'],
    },
    'removeMany counts every key': {
      factory: broken((inner) => ({
        removeMany: (keys: readonly string[], r: string | undefined) => {
          inner.removeMany!(keys, r)
          return keys.length
        },
      })),
      breaks: ['removeMany removes the keys of its region and counts those that existed'],
    },
    'a synchronous handle whose getMany returns a promise': {
      factory: broken((inner) => ({
        getMany: async (keys: readonly string[], r: string | undefined) => inner.getMany!(keys, r),
      })),
      breaks: ['claims synchronous: the bulk members do not return promises'],
    },
  }
}

/** Faults of a shared store: scoping by cache name and reports of unannounced clears. */
function sharedStoreFaults(): Record<string, Fault> {
  const options = { externalClearWithinMs: 500 }
  const fault = (faults: SharedStoreFaults, breaks: string[]): Fault => ({
    factory: sharedStoreHandles(faults),
    options,
    breaks,
  })
  return {
    'no bind on a shared store': fault({ noBind: true }, [
      'a handle on a shared store scopes its keys with bind',
      'handles bound to different cache names do not see each other',
    ]),
    'every handle its own store': fault({ privateStores: true }, [
      'handles bound to the same cache name see each other',
      'handles of one cache share locks; another cache has its own',
    ]),
    'clear empties every cache of the store': fault({ clearAll: true }, [
      'clear and clearRegion of one cache leave the other intact',
    ]),
    'announced clears reported too': fault({ reportAnnounced: true }, [
      'onExternalClear reports clears made through another handle, not announced ones',
    ]),
    'external clears never reported': fault({ neverReport: true }, [
      'onExternalClear reports clears made through another handle, not announced ones',
    ]),
    'one lock for every cache': fault({ oneLock: true }, [
      'handles of one cache share locks; another cache has its own',
    ]),
  }
}

const checks = handleCheckGroups.flatMap((group) => group.checks)

/** Runs one check as the suite would, for a handle of `factory`; resolves with its failure (undefined when it passed). */
async function failureOf(title: string, fault: Fault): Promise<unknown> {
  const check = checks.find((c) => c.title === title)
  if (check === undefined) throw new Error(`no check is titled "${title}"`)
  const options = fault.options ?? {}
  const { caps, has } = await probeHandle(fault.factory, options)
  const suite = handleSuiteContext(fault.factory, caps, has, options)
  const reason = check.skip?.(suite.ctx)
  if (reason !== undefined) throw new Error(`"${title}" does not run for this handle: ${reason}`)
  await suite.start()
  try {
    await check.run(suite.ctx)
    return undefined
  } catch (failure) {
    return failure
  } finally {
    // A broken clear or close may fail the cleanup too; that is not what is measured here.
    await suite.finish().catch(() => {})
  }
}

// The shared store the faults break must itself pass the whole suite, so the checks that
// fail for its faults fail because of the fault.
describeCacheHandle(
  'shared in-process store (reference of the shared-store faults)',
  sharedStoreHandles({}),
  {
    externalClearWithinMs: 500,
  },
)

describe('every conformance check fails for a broken handle', () => {
  test('each check is broken by at least one fault below', () => {
    const covered = new Set(Object.values(faults).flatMap((fault) => fault.breaks))
    expect(checks.map((check) => check.title).filter((title) => !covered.has(title))).toEqual([])
  })

  for (const [name, fault] of Object.entries(faults)) {
    for (const title of fault.breaks) {
      test(`${name}: fails "${title}"`, async () => {
        expect(await failureOf(title, fault), 'the check passed for the broken handle').toBeDefined()
      })
    }
  }
})

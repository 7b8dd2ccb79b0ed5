// An in-process store shared by every handle of one factory, scoped by cache name with
// `bind`, that reports clears other handles made unless the backplane announced them
// (`onRemoteClear`) — what Memcached's generation counters give. It is the reference the
// shared-store faults of conformance-checks-fail.test.ts break one at a time.
import { memoryHandle } from '@cacheplane/memory'
import type { CacheHandle, ExternalClearListener } from '../src/contracts/cache-handle.js'
import type { HandleLock } from '../src/contracts/handle-lock.js'

/** One way to break the store; none of them: a correct shared store. */
export interface SharedStoreFaults {
  /** The handle has no `bind`: every handle uses one cache. */
  readonly noBind?: boolean
  /** `bind` gives each handle a store of its own. */
  readonly privateStores?: boolean
  /** `clear` empties every cache of the store, not only the handle's. */
  readonly clearAll?: boolean
  /** `onRemoteClear` does not stop the report of the clear it announces. */
  readonly reportAnnounced?: boolean
  /** Clears by other handles are never reported. */
  readonly neverReport?: boolean
  /** Every cache of the store takes its locks in one table. */
  readonly oneLock?: boolean
}

// How long after another handle's clear this one notices it (a generation refresh).
const NOTICE_MS = 20

interface Peer {
  readonly cache: () => string
  noticed(region: string | undefined): void
}

/** A factory of handles on one new shared store. */
export function sharedStoreHandles(faults: SharedStoreFaults): () => CacheHandle {
  const caches = new Map<string, CacheHandle>()
  const peers = new Set<Peer>()
  const storeOf = (name: string): CacheHandle => {
    let store = caches.get(name)
    if (store === undefined) {
      store = memoryHandle({ name: 'shared', distributed: true, sweepIntervalMs: 0 })
      caches.set(name, store)
    }
    return store
  }
  const clearedBy = (self: Peer, region: string | undefined) => {
    for (const peer of peers) if (peer !== self && peer.cache() === self.cache()) peer.noticed(region)
  }
  return () => sharedHandle(faults, { storeOf, caches, peers, clearedBy })
}

/** The store every handle of one factory shares. */
interface Shared {
  storeOf(name: string): CacheHandle
  readonly caches: Map<string, CacheHandle>
  readonly peers: Set<Peer>
  clearedBy(self: Peer, region: string | undefined): void
}

function sharedHandle(faults: SharedStoreFaults, { storeOf, caches, peers, clearedBy }: Shared): CacheHandle {
  let cache = 'default'
  let own: CacheHandle | undefined
  const listeners = new Set<ExternalClearListener>()
  const pending = new Map<string | undefined, ReturnType<typeof setTimeout>>()
  const store = () => own ?? storeOf(cache)
  const peer: Peer = {
    cache: () => cache,
    noticed(region) {
      if (faults.neverReport || pending.has(region)) return
      const timer = setTimeout(() => {
        pending.delete(region)
        for (const listener of listeners) listener(region)
      }, NOTICE_MS)
      pending.set(region, timer)
    },
  }
  peers.add(peer)
  const handle: CacheHandle = {
    name: 'shared',
    capabilities: storeOf('default').capabilities,
    get: (k, r) => store().get(k, r),
    add: (k, r, item) => store().add(k, r, item),
    set: (k, r, item) => store().set(k, r, item),
    update: (k, r, v, item) => store().update(k, r, v, item),
    remove: (k, r) => store().remove(k, r),
    expire: (k, r, mode, ttl, at) => store().expire(k, r, mode, ttl, at),
    touch: (k, r) => store().touch!(k, r),
    peek: (k, r) => store().peek!(k, r),
    lock: cacheLock(() => (faults.oneLock ? storeOf('default') : store())),
    clear() {
      if (faults.clearAll) for (const other of caches.values()) other.clear()
      store().clear()
      clearedBy(peer, undefined)
    },
    clearRegion(region) {
      store().clearRegion(region)
      clearedBy(peer, region)
    },
    close() {
      peers.delete(peer)
      for (const timer of pending.values()) clearTimeout(timer)
    },
    onRemoteClear(region) {
      if (faults.reportAnnounced) return
      clearTimeout(pending.get(region))
      pending.delete(region)
    },
    onExternalClear(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    bind(cacheName) {
      cache = cacheName
      if (faults.privateStores) own = memoryHandle({ distributed: true, sweepIntervalMs: 0 })
    },
  }
  if (faults.noBind) delete (handle as { bind?: unknown }).bind
  return handle
}

/** The lock of the store `storeFor()` gives: the cache's (scoped by cache name), or with `oneLock` the default cache's. */
function cacheLock(storeFor: () => CacheHandle): HandleLock {
  return {
    acquire: (k, r, owner, ttl) => storeFor().lock!.acquire(k, r, owner, ttl),
    release: (k, r, owner) => storeFor().lock!.release(k, r, owner),
  }
}

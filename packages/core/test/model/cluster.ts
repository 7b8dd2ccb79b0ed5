/**
 * The instances of one history: `CacheManager`s with their own memory layer over one shared
 * store (each through its own scheduled connection) and the scheduled in-process hub, each
 * backplane wrapped in the chaos backplane so a gap can be reported to it.
 */
import { memoryHandle } from '@cacheplane/memory'
import { memoryBackplane } from '../../src/backplane/memory-backplane.js'
import { CacheManager, type CacheManagerOptions } from '../../src/cache-manager.js'
import type { Backplane } from '../../src/contracts/backplane.js'
import type { CacheHandle } from '../../src/contracts/cache-handle.js'
import { type ChaosBackplane, chaosBackplane } from '../../src/testing/chaos-backplane.js'
import type { Recorder } from './record.js'
import { ScheduledHub } from './scheduled-hub.js'
import { scheduledStore } from './scheduled-store.js'
import type { Scheduler } from './scheduler.js'
import type { StoreModel } from './store-model.js'

/** The shared store of one history, as each instance reaches it. */
export interface OpenStore {
  /** Cache name of the managers (unique per history when the store outlives it). */
  readonly cacheName: string
  /** Instance `instance`'s handle of the store (the same data for every instance). */
  handle(instance: number): CacheHandle<unknown>
  /** Removes the history's data and releases what `open` opened (before the managers close). */
  close(): Promise<void>
}

/** A kind of shared store the model runs against. */
export interface StoreSetup {
  readonly name: string
  /** The store reads `Date.now()` (so the model may step the clock and use TTLs). */
  readonly clock: boolean
  /** Opens the store for one history of `instances` instances. */
  open(instances: number): Promise<OpenStore>
}

/** The default store: one distributed-mode memory handle shared by every instance. */
export const memoryStore: StoreSetup = {
  name: 'memory',
  clock: true,
  async open() {
    const shared = memoryHandle({ name: 'shared', distributed: true, sweepIntervalMs: 0 })
    return { cacheName: 'model', handle: () => shared, close: async () => shared.close() }
  },
}

/** What the scheduled parts report to. */
export interface ModelContext {
  readonly scheduler: Scheduler
  readonly record: Recorder
  readonly model: StoreModel
}

/** The managers of one history. */
export interface Cluster {
  readonly managers: readonly CacheManager<unknown>[]
  readonly hub: ScheduledHub
  close(): Promise<void>
}

/**
 * Starts `instances` managers over `store` (`options` for the harness' own tests); resolves once
 * subscribed. With `announceWithWrite`, each backplane orders its frames behind its instance's
 * store writes (see `History.announceWithWrite`).
 */
export async function startCluster(
  instances: number,
  store: OpenStore,
  context: ModelContext,
  options: Partial<CacheManagerOptions> = {},
  announceWithWrite = false,
): Promise<Cluster> {
  const backplanes: ChaosBackplane[] = []
  const hub = new ScheduledHub(
    context.scheduler,
    context.record,
    (i, recovered) => backplanes[i]!.emitGap({ reason: 'model-cut', recovered }),
    announceWithWrite,
  )
  const managers: CacheManager<unknown>[] = []
  for (let instance = 0; instance < instances; instance++) {
    const chaos = chaosBackplane(memoryBackplane({ hub: hub.forInstance(instance), name: `bp${instance}` }))
    backplanes.push(chaos)
    const bottom = scheduledStore(store.handle(instance), { ...context, instance })
    const handles = [memoryHandle({ name: 'memory', sweepIntervalMs: 0 }), bottom]
    const backplane: Backplane = announceWithWrite
      ? { ...chaos, ordersAfter: (handle) => handle === bottom }
      : chaos
    managers.push(new CacheManager<unknown>({ ...options, name: store.cacheName, handles, backplane }))
  }
  await Promise.all(managers.map((m) => m.ready()))
  return {
    managers,
    hub,
    close: async () => {
      await store.close()
      await Promise.all(managers.map((m) => m.close()))
    },
  }
}

/**
 * The demo's "the shared store goes away": each instance reaches its store through a
 * switch that, while down, fails every call the way an unreachable server does. It works
 * the same over the in-process store, Redis and Memcached, without stopping a server the
 * demo does not own.
 */
import type { CacheHandle, CacheManager } from '@cacheplane/core'

/** Turns an instance's store connection off and on. */
export interface OutageSwitch {
  /** True while the store is unreachable. */
  down: boolean
}

const switches = new WeakMap<CacheManager, OutageSwitch>()

/** `store` behind a switch: while `down`, every data call throws as a dead connection would. */
export function behindSwitch(store: CacheHandle<unknown>): {
  handle: CacheHandle<unknown>
  outage: OutageSwitch
} {
  const outage: OutageSwitch = { down: false }
  // Lifecycle members go through: the manager must still bind, close and listen.
  const passThrough = new Set<PropertyKey>([
    'name',
    'capabilities',
    'bind',
    'close',
    'onEvict',
    'onRemoteClear',
  ])
  const handle = new Proxy(store, {
    get(target, prop, receiver) {
      const member = Reflect.get(target, prop, receiver)
      if (typeof member !== 'function') return member
      if (passThrough.has(prop)) return member.bind(target)
      return (...args: unknown[]) => {
        if (outage.down) throw new Error(`${target.name} unreachable (demo outage)`)
        return member.apply(target, args)
      }
    },
  })
  return { handle, outage }
}

/** Remembers the switch of `cache`'s store. */
export function registerOutage(cache: CacheManager, outage: OutageSwitch): void {
  switches.set(cache, outage)
}

/** The switch of `cache`'s store. */
export function outageOf(cache: CacheManager): OutageSwitch {
  const outage = switches.get(cache)
  if (outage === undefined) throw new Error('this cache was not built with an outage switch')
  return outage
}

/**
 * The instances of the `cold-key` scenario: memory + Redis + backplane, with or without
 * `distributedLock`. On each `go` they wait for the shared start time (CLOCK_MONOTONIC is
 * one clock for every process on the machine), start `callers` concurrent getOrAdd of the
 * round's cold key with a factory that takes `factoryMs`, and report when the last caller
 * had its value, how many factory calls ran here and how the waiters were woken.
 */
import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { redisHandle } from '@cacheplane/redis'
import { monotonicMs } from '../percentiles.js'
import { type BackplaneChoice, createBackplane } from './backplane-choice.js'

/** Config of {@link runColdLoader}. */
export interface ColdLoaderConfig {
  readonly cacheName: string
  readonly redisUrl: string
  readonly backplane: BackplaneChoice
  readonly lock: boolean
  readonly factoryMs: number
  readonly callers: number
}

/** A round: the key, and the monotonic time every instance starts at. */
interface Go {
  readonly type: 'go'
  readonly key: string
  readonly at: number
}

/** Sends a message to the scenario's process. */
export function send(message: Record<string, unknown>): void {
  process.send?.(message)
}

/** CPU time this process used since `since` (user + system), us. */
function cpuUs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since)
  return used.user + used.system
}

/** Sleeps most of the way with a timer, then spins: a timer alone starts up to a millisecond late. */
async function until(at: number): Promise<void> {
  const left = at - monotonicMs()
  if (left > 2) await new Promise((resolve) => setTimeout(resolve, left - 2))
  while (monotonicMs() < at) {
    // spin
  }
}

/**
 * Runs `round` for the key of each `go` at the round's start time and reports `done`: the
 * moment `round` resolved (its callers had their value), the CPU used meanwhile and what
 * `round` returned. The one protocol of the cold loader and its raw controls.
 */
export function serveRounds(round: (key: string) => Promise<Record<string, unknown>>): void {
  process.on('message', (message: Go | { type: string }) => {
    if (message.type !== 'go') return
    const go = message as Go
    void (async () => {
      await until(go.at)
      const cpu = process.cpuUsage()
      const report = await round(go.key)
      send({ type: 'done', key: go.key, end: monotonicMs(), cpuUs: cpuUs(cpu), ...report })
    })().catch((error: unknown) => send({ type: 'error', message: String(error) }))
  })
}

export async function runColdLoader(config: ColdLoaderConfig): Promise<void> {
  const cache = new CacheManager<string>({
    name: config.cacheName,
    handles: [memoryHandle({ maxEntries: 10_000 }), redisHandle({ url: config.redisUrl })],
    backplane: createBackplane(config.backplane),
    // The check is far past the factory: a waiter that is on time was woken by the message.
    distributedLock: config.lock ? { ttlMs: 10_000, checkIntervalMs: 1_000 } : false,
  })
  await cache.ready()
  const wakes: Record<string, number> = {}
  cache.on('distributedLock', (event) => {
    const kind = event.type === 'woken' ? `woken:${event.reason}` : event.type
    wakes[kind] = (wakes[kind] ?? 0) + 1
  })
  let factoryCalls = 0
  let factoryStart = 0
  let factoryEnd = 0
  const factory = async (key: string) => {
    factoryCalls++
    factoryStart = monotonicMs()
    await new Promise((resolve) => setTimeout(resolve, config.factoryMs))
    factoryEnd = monotonicMs()
    return `value of ${key}`
  }
  serveRounds(async (key) => {
    factoryCalls = 0
    factoryStart = 0
    factoryEnd = 0
    for (const kind of Object.keys(wakes)) delete wakes[kind]
    await Promise.all(Array.from({ length: config.callers }, () => cache.getOrAdd(key, factory)))
    return { factoryCalls, factoryStart, factoryEnd, wakes: { ...wakes } }
  })
  send({ type: 'ready' })
}

/**
 * The reader of the invalidation scenario, with the writer's setup: memory + Redis +
 * backplane, or memory + backplane. It reads the keys round and round (its memory layer
 * keeps copies the writer's changes must evict) until told to verify; then it waits for
 * the writer's marker key (messages arrive in order, so every earlier invalidation has
 * been applied), stops reading, and checks its memory layer:
 * - over Redis, every copy left in memory must equal Redis;
 * - memory only (no shared store to read from), every key was changed by the writer after
 *   the reader cached it, so no copy may be left at all.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { type CacheHandle, CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { redisHandle } from '@cacheplane/redis'
import { type BackplaneChoice, createBackplane } from './backplane-choice.js'

/** Config of {@link runInvalidationReader}. */
export interface InvalidationReaderConfig {
  readonly cacheName: string
  readonly keys: readonly string[]
  readonly marker: string
  /** The shared store; undefined = memory only. */
  readonly redisUrl: string | undefined
  readonly backplane: BackplaneChoice
}

interface Versioned {
  readonly seq: number
}

export async function runInvalidationReader(config: InvalidationReaderConfig): Promise<void> {
  const { keys, redisUrl } = config
  const memory = memoryHandle<unknown>({ maxEntries: keys.length * 2 })
  const handles: CacheHandle<unknown>[] = [memory]
  if (redisUrl !== undefined) handles.push(redisHandle({ url: redisUrl }))
  const cache = new CacheManager<Versioned>({
    name: config.cacheName,
    handles,
    backplane: createBackplane(config.backplane),
  })
  await cache.ready()
  let markerSeen = false
  cache.on('set', (event) => {
    if (event.origin === 'remote' && event.key === config.marker) markerSeen = true
  })
  let verifying = false
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'verify') verifying = true
  })
  if (redisUrl === undefined) {
    for (const key of keys) await cache.set(key, { seq: 0 })
    await cache.flush()
  } else {
    for (const key of keys) await cache.get(key)
  }
  process.send?.({ type: 'ready' })
  let reads = 0
  let index = 0
  while (!verifying || !markerSeen) {
    await cache.get(keys[index] as string)
    reads++
    index = index + 1 === keys.length ? 0 : index + 1
    // Memory hits resolve in microtasks, so the loop must yield for the backplane's socket
    // to be read at all; a pause every 100 gets also keeps this reader from taking a whole
    // core from the writer and Redis (on 2 cores it would measure CPU contention).
    if (reads % 100 === 0) await sleep(1)
  }
  const truth =
    redisUrl === undefined
      ? undefined
      : new CacheManager<Versioned>({ name: config.cacheName, handles: [redisHandle({ url: redisUrl })] })
  let cached = 0
  let stale = 0
  const examples: string[] = []
  for (const key of keys) {
    const copy = memory.get(key, undefined)?.value as Versioned | undefined
    if (copy === undefined) continue
    cached++
    const current = truth === undefined ? undefined : await truth.get(key)
    if (current?.seq !== copy.seq) {
      stale++
      if (examples.length < 5) examples.push(`${key}: memory seq ${copy.seq}, store seq ${current?.seq}`)
    }
  }
  process.send?.({ type: 'verified', cached, stale, reads, examples })
  await cache.close()
  await truth?.close()
}

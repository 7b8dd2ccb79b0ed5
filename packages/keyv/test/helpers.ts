import type {} from '@cacheplane/test-servers/provided-context'
import type { ItemInput } from '@cacheplane/core'
import KeyvPostgres from '@keyv/postgres'
import { inject } from 'vitest'

/** The PostgreSQL server started by test/global-setup.ts (or POSTGRES_URL). */
export function postgresUrl(): string {
  const url = inject('postgresUrl')
  if (typeof url !== 'string' || url === '') {
    throw new Error(
      'No PostgreSQL server was provided: run these tests through vitest with test/global-setup.ts ' +
        '(it starts one: a container, or the local PostgreSQL binaries — apt-get install -y postgresql; ' +
        'set POSTGRES_URL=postgresql://user@host:port/db to use a running server).',
    )
  }
  return url
}

/** The Redis server started by test/global-setup.ts (or REDIS_URL), for the backplane. */
export function redisUrl(): string {
  const url = inject('redisUrl')
  if (typeof url !== 'string' || url === '') {
    throw new Error('No Redis server was provided: run these tests through vitest with test/global-setup.ts.')
  }
  return url
}

/**
 * What @keyv/postgres' types lose without esModuleInterop: its class extends a default
 * import of node:events, so `on` disappears from the type (it is there at run time).
 */
type Emitter = { on(event: 'error', listener: (error: unknown) => void): unknown }

/** A `@keyv/postgres` store on the test server; errors it emits are kept, not thrown. */
export function postgresStore(table = 'cacheplane_test'): KeyvPostgres & { errors: unknown[] } {
  const store = Object.assign(new KeyvPostgres({ uri: postgresUrl(), table }), { errors: [] as unknown[] })
  ;(store as unknown as Emitter).on('error', (error) => store.errors.push(error))
  return store
}

/** An item input as core builds it. */
export function item(text: string, mode: 'none' | 'absolute' = 'none', ttl = 0): ItemInput<Uint8Array> {
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

/** The Keyv samples: cache-manager and NestJS on cacheplane (no server), PostgreSQL as a layer (real servers). */
import { waitFor } from '@cacheplane/core/testing'
import pg from 'pg'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { main as keyvPostgres } from '../examples/adapters/keyv-postgres.js'
import { main as cacheManager } from '../examples/cache-manager/cache-manager.js'
import { main as nestjs } from '../examples/cache-manager/nestjs.js'
import { type RunningServer, startPostgres, startRedis } from '@cacheplane/test-servers'

let servers: RunningServer[] = []
beforeAll(async () => {
  servers = await Promise.all([startPostgres(), startRedis()])
})
afterAll(async () => {
  // pg's pool.end() resolves before its sockets close; stopping the server before they did
  // sends them a FATAL "terminating connection", which pg reports as an unhandled error.
  const postgres = servers[0]
  if (postgres !== undefined) await waitFor(async () => (await otherClients(postgres.url)) === 0)
  await Promise.all(servers.map((server) => server.stop()))
})

/** Client connections to the server other than the one asking. */
async function otherClients(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
    )
    return rows[0]?.n ?? 0
  } finally {
    await client.end()
  }
}

test('cache-manager over keyvStore: a write on one instance replaces the copy on the other; wrap caches', async () => {
  expect(await cacheManager()).toEqual({ first: 'Ada', second: 'Grace', loaded: 'Alan', cached: 'Alan' })
})

test("NestJS's CacheModule with a cacheplane store", async () => {
  expect(await nestjs()).toEqual({ greeting: 'hello', level: 0 })
})

test('PostgreSQL through @keyv/postgres as the shared layer, cleared by region', async () => {
  const [postgres, redis] = servers
  if (postgres === undefined || redis === undefined) throw new Error('servers did not start')
  expect(await keyvPostgres(postgres.url, redis.url)).toEqual({
    stored: { total: 1_250 },
    cleared: undefined,
  })
})

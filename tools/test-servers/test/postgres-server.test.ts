import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { findPostgres, type RunningServer, startPostgres } from '../src/index.js'

// The local-binary path (no container engine here); a developer's POSTGRES_URL would make it a no-op.
delete process.env.POSTGRES_URL

const started: RunningServer[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((server) => server.stop()))
})

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(sql)).rows
  } finally {
    await client.end()
  }
}

describe('startPostgres', () => {
  it('finds initdb and postgres (off PATH on Debian)', () => {
    expect(findPostgres()).toMatch(/\/postgres$/)
  })

  it('answers queries, restarts on the same port, and stops', async () => {
    const server = await startPostgres()
    started.push(server)
    expect(server.url).toBe(`postgresql://postgres@127.0.0.1:${server.port}/postgres`)
    expect(await query(server.url, 'SELECT 1 + 1 AS two')).toEqual([{ two: 2 }])
    // A connected client must not keep a stop or restart waiting (fast shutdown).
    const idle = new pg.Client({ connectionString: server.url })
    idle.on('error', () => {})
    await idle.connect()
    await server.restart()
    expect(await query(server.url, "SELECT current_setting('fsync') AS fsync")).toEqual([{ fsync: 'off' }])
    await server.stop()
    await expect(query(server.url, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/)
  })
})

import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitFor } from '@cacheplane/core/testing'
import { freePort } from '@cacheplane/test-servers'
import { Redis } from 'ioredis'

/** A master, one replica and one Sentinel (quorum 1) of local `redis-server` processes. */
export interface SentinelSetup {
  /** Name the Sentinel monitors the master under. */
  readonly masterName: string
  /** The Sentinel's address. */
  readonly sentinel: { host: string; port: number }
  /** Port of the current master, as the Sentinel reports it. */
  masterPort(): Promise<number>
  /** Forces a failover and resolves once the Sentinel reports the other server as master. */
  failover(): Promise<void>
  /** Stops every process and removes the working directory. */
  stop(): Promise<void>
}

const HOST = '127.0.0.1'

async function ping(port: number): Promise<boolean> {
  const client = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

/**
 * Starts the three processes (Sentinel mode needs a writable config file, hence the
 * directory) and returns once the Sentinel knows the replica, so a failover can succeed.
 */
export async function startSentinelSetup(): Promise<SentinelSetup> {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error(
      "sentinel tests: 'redis-server' is not on PATH (Debian/Ubuntu: apt-get install -y redis-server); " +
        'Sentinel mode needs local binaries, REDIS_URL does not apply',
    )
  }
  const dir = await mkdtemp(join(tmpdir(), 'cacheplane-sentinel-'))
  const processes: ChildProcess[] = []
  const [masterPort, replicaPort, sentinelPort] = [await freePort(), await freePort(), await freePort()]
  const masterName = 'cacheplane-test'
  const stop = async () => {
    for (const child of processes) child.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  }
  const run = (args: string[]) => {
    const child = spawn('redis-server', args, { cwd: dir, stdio: 'ignore' })
    child.on('error', () => {})
    processes.push(child)
  }
  try {
    const base = ['--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir]
    run(['--port', String(masterPort), ...base, '--dbfilename', 'master.rdb'])
    run([
      '--port',
      String(replicaPort),
      ...base,
      '--dbfilename',
      'replica.rdb',
      '--replicaof',
      HOST,
      String(masterPort),
    ])
    const config = join(dir, 'sentinel.conf')
    await writeFile(
      config,
      [
        `port ${sentinelPort}`,
        `bind ${HOST}`,
        `dir ${dir}`,
        `sentinel monitor ${masterName} ${HOST} ${masterPort} 1`,
        `sentinel down-after-milliseconds ${masterName} 1000`,
        `sentinel failover-timeout ${masterName} 5000`,
        '',
      ].join('\n'),
    )
    run([config, '--sentinel'])
    const admin = new Redis({ host: HOST, port: sentinelPort, lazyConnect: true })
    admin.on('error', () => {})
    await waitFor(() => ping(masterPort), { timeoutMs: 10_000, message: 'the master to start' })
    await waitFor(() => ping(sentinelPort), { timeoutMs: 10_000, message: 'the Sentinel to start' })
    await admin.connect()
    await waitFor(
      async () => {
        const replicas = (await admin.call('SENTINEL', 'REPLICAS', masterName)) as string[][]
        return replicas.some(
          (fields) => fields.includes('slave') && !fields.join(' ').includes('disconnected'),
        )
      },
      { timeoutMs: 20_000, intervalMs: 100, message: 'the Sentinel to discover the replica' },
    )
    const masterPortNow = async () => {
      const [, port] = (await admin.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)) as [
        string,
        string,
      ]
      return Number(port)
    }
    return {
      masterName,
      sentinel: { host: HOST, port: sentinelPort },
      masterPort: masterPortNow,
      async failover() {
        const before = await masterPortNow()
        await admin.call('SENTINEL', 'FAILOVER', masterName)
        await waitFor(async () => (await masterPortNow()) !== before, {
          timeoutMs: 20_000,
          intervalMs: 100,
          message: 'the Sentinel to promote the replica',
        })
      },
      async stop() {
        admin.disconnect()
        await stop()
      },
    }
  } catch (error) {
    await stop()
    throw error
  }
}

import { execFile } from 'node:child_process'
import { accessSync, chownSync, constants, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { findBinary } from './binaries.js'
import { resolveServer, type ServerKind, startOwnServer } from './resolve-server.js'
import type { RunningServer } from './running-server.js'

/** Pinned image used when a container engine is reachable. */
export const postgresImage = 'postgres:16.4-alpine'

const postgresUrl = (host: string, port: number): string => `postgresql://postgres@${host}:${port}/postgres`

// A throwaway server: nothing is flushed to disk, so tests do not wait on fsync.
const volatile = ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']
// Several test processes, each with a connection pool, share one server.
const limits = ['-c', 'max_connections=300']

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * The `postgres` executable, with `initdb` beside it: on PATH (most distributions, Homebrew),
 * else the newest `/usr/lib/postgresql/<version>/bin` (Debian and Ubuntu keep them off PATH).
 */
export function findPostgres(): string | undefined {
  const onPath = findBinary('postgres')
  if (onPath !== undefined && executable(join(dirname(onPath), 'initdb'))) return onPath
  const root = '/usr/lib/postgresql'
  let versions: string[]
  try {
    versions = readdirSync(root).filter((name) => /^\d+(\.\d+)?$/.test(name))
  } catch {
    return undefined
  }
  versions.sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
  for (const version of versions) {
    const bin = join(root, version, 'bin')
    if (executable(join(bin, 'postgres')) && executable(join(bin, 'initdb'))) return join(bin, 'postgres')
  }
  return undefined
}

/** The user to run PostgreSQL as when this process is root (postgres refuses root): `postgres`, else `nobody`. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const users = new Map<string, { uid: number; gid: number }>()
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [name, , uid, gid] = line.split(':')
    if (name !== undefined && uid !== undefined && gid !== undefined) {
      users.set(name, { uid: Number(uid), gid: Number(gid) })
    }
  }
  const user = users.get('postgres') ?? users.get('nobody')
  if (user === undefined)
    throw new Error('test-servers: running as root, and neither user postgres nor nobody exists')
  return user
}

/**
 * Ready once `postmaster.pid` names this process and port and says `ready`: PostgreSQL writes
 * that after its sockets listen, and unlike a protocol probe it cannot be another server's answer.
 */
async function postmasterReady(pid: number, port: number, dir: string): Promise<boolean> {
  let lines: string[]
  try {
    lines = readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')
  } catch {
    return false
  }
  return lines[0] === String(pid) && lines[3] === String(port) && lines[7]?.trim() === 'ready'
}

function postgresKind(): ServerKind {
  const user = serverUser()
  return {
    name: 'PostgreSQL',
    envName: 'POSTGRES_URL',
    defaultPort: 5432,
    binaryName: 'postgres',
    findBinary: findPostgres,
    packages: 'postgresql',
    container: () => ({
      image: postgresImage,
      containerPort: 5432,
      command: ['postgres', ...volatile, ...limits],
      environment: { POSTGRES_HOST_AUTH_METHOD: 'trust' },
      url: postgresUrl,
    }),
    process: (binary) => ({
      kind: 'postgres',
      binary,
      ...(user === undefined ? {} : { user }),
      async prepare(dir) {
        if (user !== undefined) chownSync(dir, user.uid, user.gid)
        const initdb = join(dirname(binary), 'initdb')
        const args = ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']
        await promisify(execFile)(initdb, args, { cwd: dir, ...user })
      },
      args: (port, dir) => [
        '-D',
        join(dir, 'data'),
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        // The socket lives in the server's own directory, not in /var/run/postgresql.
        '-k',
        dir,
        ...volatile,
        ...limits,
      ],
      ready: postmasterReady,
      // SIGINT is the fast shutdown: SIGTERM waits for every client to disconnect.
      stopSignal: 'SIGINT',
      url: postgresUrl,
    }),
  }
}

/**
 * A PostgreSQL server: `POSTGRES_URL`, else a container, else the local binaries (`initdb` into a
 * fresh temporary directory, then `postgres` on a free port; as user `postgres` when run as root).
 * URL `postgresql://postgres@host:port/postgres`, trust authentication.
 */
export function startPostgres(): Promise<RunningServer> {
  return resolveServer(postgresKind())
}

/** A PostgreSQL server started by the tests even when `POSTGRES_URL` is set. */
export function startOwnPostgres(): Promise<RunningServer> {
  return startOwnServer(postgresKind())
}

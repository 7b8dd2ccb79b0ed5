import { existsSync } from 'node:fs'
import { request } from 'node:http'
import { homedir } from 'node:os'
import { join } from 'node:path'

let cached: Promise<boolean> | undefined

/**
 * True when a Docker-compatible engine answers `/_ping` within two seconds. Asked once per
 * process: testcontainers' own discovery can take much longer to give up, and a docker CLI
 * without an engine is common. `TEST_SERVERS_RUNTIME=binaries` skips containers entirely.
 */
export function containerRuntimeAvailable(): Promise<boolean> {
  cached ??= detectContainerRuntime()
  return cached
}

/** Uncached detection (for tests); see {@link containerRuntimeAvailable}. */
export async function detectContainerRuntime(): Promise<boolean> {
  const mode = process.env.TEST_SERVERS_RUNTIME
  if (mode === 'binaries') return false
  for (const endpoint of endpoints()) {
    if (await ping(endpoint)) return true
  }
  return false
}

type Endpoint = { socketPath: string } | { host: string; port: number }

function endpoints(): Endpoint[] {
  const dockerHost = process.env.DOCKER_HOST
  if (dockerHost !== undefined && dockerHost !== '') {
    if (dockerHost.startsWith('unix://')) return [{ socketPath: dockerHost.slice('unix://'.length) }]
    const match = /^tcp:\/\/([^:/]+):(\d+)/.exec(dockerHost)
    // TLS engines (DOCKER_TLS_VERIFY) do not answer plain HTTP; let testcontainers judge those.
    if (match !== null && process.env.DOCKER_TLS_VERIFY !== '1') {
      return [{ host: match[1] ?? '127.0.0.1', port: Number(match[2]) }]
    }
    return []
  }
  const sockets = ['/var/run/docker.sock', join(homedir(), '.docker/run/docker.sock')]
  const runtimeDir = process.env.XDG_RUNTIME_DIR
  if (runtimeDir !== undefined)
    sockets.push(join(runtimeDir, 'docker.sock'), join(runtimeDir, 'podman/podman.sock'))
  return sockets.filter((path) => existsSync(path)).map((socketPath) => ({ socketPath }))
}

function ping(endpoint: Endpoint): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ ...endpoint, path: '/_ping', method: 'GET', timeout: 2_000 }, (res) => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.once('timeout', () => req.destroy())
    req.once('error', () => resolve(false))
    req.end()
  })
}

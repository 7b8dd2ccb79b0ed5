import { findBinary } from './binaries.js'
import { containerRuntimeAvailable } from './container-runtime.js'
import type { ContainerSpec } from './container-server.js'
import { missingServerError } from './missing-server-error.js'
import { type ProcessSpec, startProcessServer } from './process-server.js'
import { externalServer, type RunningServer } from './running-server.js'

/** Everything needed to provide one server of a kind, in the documented order. */
export interface ServerKind {
  /** Human name, e.g. 'Redis'. */
  name: string
  /** Environment variable naming an already running server. */
  envName: string
  /** Port assumed when the environment variable has none. */
  defaultPort: number
  /** Executable to run when no container engine answers. */
  binaryName: string
  /** Finds the executable when it is not simply on PATH (default: `findBinary(binaryName)`). */
  findBinary?(): string | undefined
  /** Debian packages that provide the binary, for the error when it is missing. */
  packages?: string
  /** The container to run when an engine answers. */
  container(): ContainerSpec
  /** The process to run otherwise. */
  process(binary: string): ProcessSpec
}

/** Environment override, then a container, then the local binary; otherwise a helpful error. */
export async function resolveServer(kind: ServerKind): Promise<RunningServer> {
  const fromEnv = process.env[kind.envName]
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    return externalServer(kind.envName, fromEnv.trim(), kind.defaultPort)
  }
  return startOwnServer(kind)
}

/** A container when an engine answers, else the local binary; ignores the environment override. */
export async function startOwnServer(kind: ServerKind): Promise<RunningServer> {
  if (await containerRuntimeAvailable()) {
    // Loaded only when needed: testcontainers pulls in a large dependency tree.
    const { startContainerServer } = await import('./container-server.js')
    return startContainerServer(kind.container())
  }
  const binary = kind.findBinary === undefined ? findBinary(kind.binaryName) : kind.findBinary()
  if (binary === undefined) throw missingServerError(kind.name, kind.binaryName, kind.envName, kind.packages)
  return startProcessServer(kind.process(binary))
}

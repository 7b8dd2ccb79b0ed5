/** A server started (or borrowed) for tests. */
export interface RunningServer {
  /** Host to connect to, usually `127.0.0.1`. */
  readonly host: string
  /** TCP port the server listens on. */
  readonly port: number
  /** Connection string in the form the client library expects (`redis://h:p`, `h:p`, `nats://h:p`). */
  readonly url: string
  /** Stops the server and releases its resources; a no-op for external servers. */
  stop(): Promise<void>
  /** Stops the server gracefully and starts it again on the same host:port (data is not kept). */
  restart(): Promise<void>
  /** Kills the server abruptly (SIGKILL-like); `restart()` brings it back on the same port. */
  kill(): Promise<void>
}

/** A `host:port` pair. */
export interface HostPort {
  /** Host name or IP. */
  host: string
  /** TCP port. */
  port: number
}

/** Splits `scheme://host:port` or `host:port` into its host and port. */
export function parseHostPort(address: string, defaultPort: number): HostPort {
  const withoutScheme = address.trim().replace(/^[a-z]+:\/\//i, '')
  const hostPort = withoutScheme.replace(/^[^@]*@/, '').split('/')[0] ?? ''
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort)
  if (match === null) throw new Error(`test-servers: cannot read a host:port from '${address}'`)
  return { host: match[1] ?? '127.0.0.1', port: match[2] === undefined ? defaultPort : Number(match[2]) }
}

/**
 * Wraps a server given through an environment variable: the tests did not start it,
 * so they must not stop it, and cannot restart or kill it.
 */
export function externalServer(envName: string, url: string, defaultPort: number): RunningServer {
  const first = url.split(',')[0] ?? url
  const { host, port } = parseHostPort(first, defaultPort)
  const refuse = (what: string) => async () => {
    throw new Error(
      `test-servers: cannot ${what} the server at ${url}: it is external (from ${envName}). ` +
        `Unset ${envName} to let the tests start their own server.`,
    )
  }
  return { host, port, url, stop: async () => {}, restart: refuse('restart'), kill: refuse('kill') }
}

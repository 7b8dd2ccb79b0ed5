/** The error thrown when no server of a kind can be provided: it says how to get one. */
export function missingServerError(
  kind: string,
  binary: string,
  envName?: string,
  packages = 'redis-server memcached nats-server',
): Error {
  const env = envName === undefined ? '' : `, or set ${envName} to a running server,`
  return new Error(
    `test-servers: cannot start ${kind}: no container engine is reachable and '${binary}' is not on PATH. ` +
      `Install the servers (Debian/Ubuntu: apt-get install -y ${packages})${env} ` +
      `or start a Docker engine.`,
  )
}

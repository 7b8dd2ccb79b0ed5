import { GenericContainer, getContainerRuntimeClient, type StartedTestContainer, Wait } from 'testcontainers'
import { freePort } from './free-port.js'
import type { RunningServer } from './running-server.js'

/** How to run one server image. */
export interface ContainerSpec {
  /** Pinned image tag. */
  image: string
  /** Port the server listens on inside the container. */
  containerPort: number
  /** Command (arguments after the image's entrypoint). */
  command: string[]
  /** Environment variables of the container. */
  environment?: Record<string, string>
  /** Connection string for a client. */
  url(host: string, port: number): string
}

/**
 * Starts a container with its port bound to a fixed free host port, so that a restart
 * (or a kill followed by a restart) keeps the address the clients were given.
 */
export async function startContainerServer(spec: ContainerSpec): Promise<RunningServer> {
  const hostPort = await freePort()
  const container: StartedTestContainer = await new GenericContainer(spec.image)
    .withCommand(spec.command)
    .withEnvironment(spec.environment ?? {})
    .withExposedPorts({ container: spec.containerPort, host: hostPort })
    .withWaitStrategy(Wait.forListeningPorts())
    .start()
  const host = container.getHost()
  let stopped = false
  return {
    host,
    port: hostPort,
    url: spec.url(host, hostPort),
    async stop() {
      if (stopped) return
      stopped = true
      await container.stop({ timeout: 5_000 })
    },
    async restart() {
      if (stopped) throw new Error(`test-servers: ${spec.image} was stopped; start a new one`)
      // `docker restart` also starts a container that was killed, and waits for the port again.
      await container.restart({ timeout: 5_000 })
    },
    async kill() {
      // SIGKILL through the engine (PID 1 inside the container ignores it from within);
      // the container stays, so restart() can bring it back.
      const client = await getContainerRuntimeClient()
      await client.container.getById(container.getId()).kill({ signal: 'SIGKILL' })
    },
  }
}

/**
 * The servers a run needs, started on first use through `@cacheplane/test-servers`
 * (REDIS_URL, MEMCACHED_URL, NATS_URL name running servers instead; otherwise a
 * container when an engine answers, else the local binaries on free ports), and
 * stopped at the end.
 */
import { type RunningServer, startMemcached, startNats, startRedis } from '@cacheplane/test-servers'

type Kind = 'redis' | 'memcached' | 'nats'

/** Lazily started servers, one of each kind per run. */
export class Servers {
  readonly #started = new Map<Kind, Promise<RunningServer>>()

  /** A Redis URL (`redis://host:port`). */
  async redis(): Promise<string> {
    return (await this.#get('redis', () => startRedis())).url
  }

  /** A Memcached `host:port`. */
  async memcached(): Promise<string> {
    return (await this.#get('memcached', () => startMemcached())).url
  }

  /** A NATS URL (`nats://host:port`). */
  async nats(): Promise<string> {
    return (await this.#get('nats', () => startNats({ jetstream: false }))).url
  }

  /** The URLs of the servers started so far, by kind. */
  async urls(): Promise<Record<string, string>> {
    const urls: Record<string, string> = {}
    for (const [kind, server] of this.#started) urls[kind] = (await server).url
    return urls
  }

  /** Stops every server this run started (borrowed ones are left alone by test-servers). */
  async stopAll(): Promise<void> {
    for (const server of this.#started.values()) await (await server).stop()
    this.#started.clear()
  }

  #get(kind: Kind, start: () => Promise<RunningServer>): Promise<RunningServer> {
    let server = this.#started.get(kind)
    if (server === undefined) {
      server = start()
      this.#started.set(kind, server)
    }
    return server
  }
}

/**
 * Listeners of the propagation scenario. Each reports `seen` with the writer's `t0`
 * (carried in the value or the message) and its own monotonic times, so latencies are
 * computed on one clock (CLOCK_MONOTONIC is shared by processes on one machine).
 */
import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { redisHandle } from '@cacheplane/redis'
import { connect } from '@nats-io/transport-node'
import { Redis } from 'ioredis'
import { createBentoCache } from '../peers.js'
import { monotonicMs } from '../percentiles.js'
import { type BackplaneChoice, createBackplane } from './backplane-choice.js'

/** A probe value: which write, and when the writer started it. */
export interface Probe {
  readonly seq: number
  readonly t0: number
}

function send(message: Record<string, unknown>): void {
  process.send?.(message)
}

/** Config of {@link runCacheListener}. */
export interface CacheListenerConfig {
  readonly cacheName: string
  readonly key: string
  readonly redisUrl: string
  readonly backplane: BackplaneChoice
}

/** Other keys the listener's memory holds, as an instance in service does. */
const OTHER_KEYS = 100

/**
 * A second application instance: memory + Redis + backplane. On each remote `set` of the
 * key it notes the time (write -> remote event), reads the key (write -> new value read)
 * and reports the value's probe; a stale read shows as an older `seq`.
 *
 * Its memory holds {@link OTHER_KEYS} other keys. With the probed key alone, each
 * invalidation removed the last key of the memory handle's map, and V8's `Map#delete` of a
 * map's last key took over 11 us in about 1% of calls (against 0.2 us with other keys
 * present): the remove's p99 in the listener was 42-48 us, and set the NATS setup's p99.
 */
export async function runCacheListener(config: CacheListenerConfig): Promise<void> {
  const cache = new CacheManager<Probe>({
    name: config.cacheName,
    handles: [memoryHandle({ maxEntries: 1_000 }), redisHandle({ url: config.redisUrl })],
    backplane: createBackplane(config.backplane),
  })
  await cache.ready()
  for (let i = 0; i < OTHER_KEYS; i++) await cache.set(`${config.key}-other-${i}`, { seq: -1, t0: 0 })
  cache.on('set', (event) => {
    if (event.origin !== 'remote' || event.key !== config.key) return
    const te = monotonicMs()
    cache.get(config.key).then(
      (value) => send({ type: 'seen', seq: value?.seq ?? -1, t0: value?.t0 ?? 0, te, tr: monotonicMs() }),
      (error: unknown) => send({ type: 'error', message: String(error) }),
    )
  })
  send({ type: 'ready' })
}

/** Config of {@link runBentoListener}. */
export interface BentoListenerConfig {
  readonly key: string
  readonly redisUrl: string
}

/**
 * The same listener on BentoCache (memory + Redis + Redis bus): on each bus message naming
 * the key it notes the time, reads the key and reports the probe.
 */
export async function runBentoListener(config: BentoListenerConfig): Promise<void> {
  const bento = createBentoCache(config.redisUrl, 1_000)
  await bento.get({ key: config.key }) // connects L2 and subscribes the bus
  // BentoCache may deliver more than one bus message per write: one report per new value.
  let reported = 0
  bento.on('bus:message:received', ({ message }) => {
    if (!message.keys.some((key) => key.endsWith(config.key))) return
    const te = monotonicMs()
    // The event is emitted before BentoCache drops its memory copy: read on the next turn.
    setImmediate(() => read(te))
  })
  const read = (te: number): void => {
    bento.get<Probe>({ key: config.key }).then(
      (value) => {
        if (value !== undefined && value !== null && value.seq <= reported) return
        reported = value?.seq ?? reported
        send({ type: 'seen', seq: value?.seq ?? -1, t0: value?.t0 ?? 0, te, tr: monotonicMs() })
      },
      (error: unknown) => send({ type: 'error', message: String(error) }),
    )
  }
  send({ type: 'ready' })
}

/** Config of the raw subscribers. */
export interface RawSubscriberConfig {
  readonly url: string
  readonly channel: string
}

/** Raw ioredis SUBSCRIBE: reports each message's probe with the receive time. */
export async function runRawRedisSubscriber(config: RawSubscriberConfig): Promise<void> {
  const subscriber = new Redis(config.url)
  subscriber.on('message', (_channel: string, text: string) => {
    const te = monotonicMs()
    const probe = JSON.parse(text) as Probe
    send({ type: 'seen', seq: probe.seq, t0: probe.t0, te, tr: te })
  })
  await subscriber.subscribe(config.channel)
  send({ type: 'ready' })
}

/** Raw NATS subscription: reports each message's probe with the receive time. */
export async function runRawNatsSubscriber(config: RawSubscriberConfig): Promise<void> {
  const connection = await connect({ servers: config.url })
  const decoder = new TextDecoder()
  connection.subscribe(config.channel, {
    callback: (error, message) => {
      const te = monotonicMs()
      if (error !== null) {
        send({ type: 'error', message: String(error) })
        return
      }
      const probe = JSON.parse(decoder.decode(message.data)) as Probe
      send({ type: 'seen', seq: probe.seq, t0: probe.t0, te, tr: te })
    },
  })
  await connection.flush() // the server has the subscription once this resolves
  send({ type: 'ready' })
}

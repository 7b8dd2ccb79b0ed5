/**
 * The raw control of the `cold-key` scenario: the least work any cluster-wide single flight
 * has to do, with no cache library. Instance 0 is the holder: at the shared start it runs the
 * same 20 ms timer as the factory, SETs the value in Redis and publishes the key on the
 * transport. The others, subscribed with a raw ioredis / NATS client, GET the key from Redis
 * when the message arrives and resolve their callers. It speaks the cold loader's protocol
 * (`go` in, `done` out), so the scenario measures it with the same rounds and clocks.
 */
import { connect } from '@nats-io/transport-node'
import { Redis } from 'ioredis'
import { monotonicMs } from '../percentiles.js'
import type { BackplaneChoice } from './backplane-choice.js'
import { until } from './cold-loader.js'

/** Config of {@link runRawColdLoader}. */
export interface RawColdLoaderConfig {
  readonly redisUrl: string
  readonly backplane: BackplaneChoice
  /** The Redis channel or NATS subject carrying the holder's message. */
  readonly channel: string
  /** Instance 0 runs the factory; the others wait for its message. */
  readonly index: number
  readonly factoryMs: number
  readonly callers: number
}

interface Go {
  readonly type: 'go'
  readonly key: string
  readonly at: number
}

function send(message: Record<string, unknown>): void {
  process.send?.(message)
}

/** Publishes and subscribes raw on the chosen transport; `onKey` gets each published key. */
async function rawTransport(
  config: RawColdLoaderConfig,
  onKey: (key: string) => void,
): Promise<(key: string) => Promise<unknown>> {
  if (config.backplane.kind === 'redis') {
    const publisher = new Redis(config.backplane.url)
    const subscriber = new Redis(config.backplane.url)
    subscriber.on('message', (_channel: string, key: string) => onKey(key))
    await subscriber.subscribe(config.channel)
    return (key) => publisher.publish(config.channel, key)
  }
  const connection = await connect({ servers: config.backplane.url })
  const encoder = new TextEncoder()
  const decoder = new TextDecoder()
  connection.subscribe(config.channel, {
    callback: (error, message) => {
      if (error === null) onKey(decoder.decode(message.data))
      else send({ type: 'error', message: String(error) })
    },
  })
  await connection.flush() // the server has the subscription once this resolves
  return async (key) => connection.publish(config.channel, encoder.encode(key))
}

/**
 * Values read after a message, by key. A waiter that starts after its message came (a
 * process descheduled past the holder's write) finds the value here instead of waiting.
 */
class Arrivals {
  readonly #values = new Map<string, Promise<string | null>>()
  readonly #waiting = new Map<string, (value: Promise<string | null>) => void>()

  arrived(key: string, value: Promise<string | null>): void {
    this.#values.set(key, value)
    this.#waiting.get(key)?.(value)
    this.#waiting.delete(key)
  }

  async wait(key: string): Promise<string | null> {
    const known = this.#values.get(key)
    if (known !== undefined) return known
    return new Promise<string | null>((resolve) => this.#waiting.set(key, resolve))
  }

  forget(key: string): void {
    this.#values.delete(key)
  }
}

export async function runRawColdLoader(config: RawColdLoaderConfig): Promise<void> {
  const store = new Redis(config.redisUrl)
  const arrivals = new Arrivals()
  const holder = config.index === 0
  const publish = await rawTransport(config, (key) => {
    if (!holder) arrivals.arrived(key, store.get(key))
  })
  await store.ping()
  process.on('message', (message: Go | { type: string }) => {
    if (message.type !== 'go') return
    const go = message as Go
    void (async () => {
      await until(go.at)
      let factoryMs = 0
      let value: Promise<string | null>
      if (holder) {
        const started = monotonicMs()
        await new Promise((resolve) => setTimeout(resolve, config.factoryMs))
        factoryMs = monotonicMs() - started
        value = store.set(go.key, `value of ${go.key}`, 'PX', 60_000).then(async () => {
          await publish(go.key)
          return `value of ${go.key}`
        })
      } else value = arrivals.wait(go.key)
      // Every caller of the instance waits on the one read, as coalesced getOrAdd callers do.
      await Promise.all(Array.from({ length: config.callers }, () => value))
      arrivals.forget(go.key)
      send({
        type: 'done',
        key: go.key,
        end: monotonicMs(),
        factoryCalls: holder ? 1 : 0,
        factoryMs,
        wakes: {},
      })
    })().catch((error: unknown) => send({ type: 'error', message: String(error) }))
  })
  send({ type: 'ready' })
}

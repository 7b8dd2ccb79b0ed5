/**
 * The raw controls of the `cold-key` scenario, with no cache library. The minimal one is the
 * least work any cluster-wide single flight has to do: instance 0 is the holder, at the shared
 * start it runs the same 20 ms timer as the factory, SETs the value in Redis and publishes the
 * key on the transport; the others, subscribed with a raw ioredis / NATS client, GET the key
 * from Redis when the message arrives and resolve their callers. The protocol control adds the
 * round trips a lock-based single flight cannot avoid: every instance first reads the key and
 * asks for a lock ({@link protocolRound}). Both speak the cold loader's protocol (`go` in,
 * `done` out), so the scenario measures them with the same rounds and clocks.
 */
import { connect } from '@nats-io/transport-node'
import { Redis } from 'ioredis'
import { monotonicMs } from '../percentiles.js'
import type { BackplaneChoice } from './backplane-choice.js'
import { send, serveRounds } from './cold-loader.js'

/** Config of {@link runRawColdLoader}. */
export interface RawColdLoaderConfig {
  readonly redisUrl: string
  readonly backplane: BackplaneChoice
  /** The Redis channel or NATS subject carrying the holder's message. */
  readonly channel: string
  /** Without `protocol`, instance 0 runs the factory and the others wait for its message. */
  readonly index: number
  /** Every instance reads and tries a lock first, as a lock-based single flight does (see {@link protocolRound}). */
  readonly protocol: boolean
  readonly factoryMs: number
  readonly callers: number
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

/** What one round did in this process. */
interface RoundWork {
  readonly value: Promise<string | null>
  readonly factoryCalls: number
  readonly factoryStart: number
  readonly factoryEnd: number
}

/** The raw side of the round's commands. */
interface Raw {
  readonly store: Redis
  readonly arrivals: Arrivals
  readonly publish: (key: string) => Promise<unknown>
  /** Keys this process published: their echo is not read back. */
  readonly published: Set<string>
}

/** The 20 ms factory, then SET + publish; resolves with the value once published. */
async function produce(config: RawColdLoaderConfig, raw: Raw, key: string): Promise<RoundWork> {
  const factoryStart = monotonicMs()
  await new Promise((resolve) => setTimeout(resolve, config.factoryMs))
  const factoryEnd = monotonicMs()
  raw.published.add(key)
  const value = raw.store.set(key, `value of ${key}`, 'PX', 60_000).then(async () => {
    await raw.publish(key)
    return `value of ${key}`
  })
  return { value, factoryCalls: 1, factoryStart, factoryEnd }
}

const WAITED = { factoryCalls: 0, factoryStart: 0, factoryEnd: 0 }

/**
 * The protocol control: every instance reads the key (a miss), then asks for a lock with
 * SET NX PX pipelined with a second read; the winner runs the factory, writes, publishes and
 * deletes the lock, the others wait for the message and read. The round trips any lock-based
 * cluster-wide single flight makes, with nothing else.
 */
async function protocolRound(config: RawColdLoaderConfig, raw: Raw, key: string): Promise<RoundWork> {
  await raw.store.get(key)
  const [taken] = await Promise.all([
    raw.store.set(`lock:${key}`, 'owner', 'PX', 10_000, 'NX'),
    raw.store.get(key),
  ])
  if (taken !== 'OK') return { ...WAITED, value: raw.arrivals.wait(key) }
  const work = await produce(config, raw, key)
  void work.value.then(() => raw.store.del(`lock:${key}`))
  return work
}

export async function runRawColdLoader(config: RawColdLoaderConfig): Promise<void> {
  const store = new Redis(config.redisUrl)
  const arrivals = new Arrivals()
  const published = new Set<string>()
  const publish = await rawTransport(config, (key) => {
    if (!published.delete(key)) arrivals.arrived(key, store.get(key))
  })
  const raw: Raw = { store, arrivals, publish, published }
  await store.ping()
  const round = async (key: string): Promise<RoundWork> => {
    if (config.protocol) return protocolRound(config, raw, key)
    return config.index === 0 ? produce(config, raw, key) : { ...WAITED, value: arrivals.wait(key) }
  }
  serveRounds(async (key) => {
    const { value, ...work } = await round(key)
    // Every caller of the instance waits on the one read, as coalesced getOrAdd callers do.
    await Promise.all(Array.from({ length: config.callers }, () => value))
    arrivals.forget(key)
    return { ...work, wakes: {} }
  })
  send({ type: 'ready' })
}

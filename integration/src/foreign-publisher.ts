/**
 * A client that is not cacheplane, publishing raw bytes on a cache's channel: plain Redis PUBLISH,
 * sharded SPUBLISH on a Cluster, or a raw NATS publish (the subject is learnt by listening to a
 * legitimate frame, so the test does not depend on how the adapter escapes channel names).
 */
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { Cluster, Redis } from 'ioredis'
import type { Address } from './worker/topology.js'

/** Publishes raw payloads on one cache's channel. */
export interface ForeignPublisher {
  /** Publishes and waits until the server has taken every payload. */
  publish(payloads: readonly Uint8Array[]): Promise<void>
  close(): Promise<void>
}

/** Redis PUBLISH on `<channel prefix><cache name>`. */
export async function redisPublisher(url: string, channel: string): Promise<ForeignPublisher> {
  const client = new Redis(url)
  return {
    async publish(payloads) {
      for (const payload of payloads) await client.publish(channel, Buffer.from(payload))
    },
    async close() {
      await client.quit()
    },
  }
}

/** SPUBLISH on a Redis Cluster (what the sharded backplane subscribes to). */
export async function clusterPublisher(
  nodes: readonly Address[],
  channel: string,
): Promise<ForeignPublisher> {
  const client = new Cluster(nodes.map((node) => ({ ...node })))
  return {
    async publish(payloads) {
      for (const payload of payloads) await client.spublish(channel, Buffer.from(payload))
    },
    async close() {
      await client.quit()
    },
  }
}

/**
 * A NATS client listening on `cacheplane.>`; `learn()` resolves with the subject of the first
 * frame seen (the test makes a process write), and publishes go there.
 */
export async function natsPublisher(url: string): Promise<ForeignPublisher & { learn(): Promise<string> }> {
  const connection: NatsConnection = await connect({ servers: url })
  const subscription = connection.subscribe('cacheplane.>', { max: 1 })
  let subject: string | undefined
  const learnt = (async () => {
    for await (const message of subscription) {
      subject = message.subject
      return message.subject
    }
    throw new Error('foreign NATS client: the subscription ended before any frame was seen')
  })()
  await connection.flush()
  return {
    learn: () => learnt,
    async publish(payloads) {
      if (subject === undefined) throw new Error('foreign NATS client: learn() the subject first')
      for (const payload of payloads) connection.publish(subject, payload)
      await connection.flush()
    },
    async close() {
      await connection.drain()
    },
  }
}

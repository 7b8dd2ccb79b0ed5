import { describeBackplane } from '@cacheplane/core/testing'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, inject } from 'vitest'
import { natsBackplane } from '../src/index.js'

describeBackplane('natsBackplane over servers it connects to', () =>
  natsBackplane({ servers: inject('natsUrl') }),
)

describeBackplane('natsBackplane with JetStream replay', () =>
  natsBackplane({ servers: inject('natsUrl'), replay: { maxAgeMs: 60_000, storage: 'memory' } }),
)

describe('on a connection the application owns', () => {
  let connection: NatsConnection | undefined
  beforeAll(async () => {
    connection = await connect({ servers: inject('natsUrl') })
  })
  afterAll(async () => {
    await connection?.close()
  })
  const shared = (): NatsConnection => {
    if (connection === undefined) throw new Error('the shared connection is not open')
    return connection
  }
  // A forced reconnect of the application's connection: every channel on it must hear a gap.
  const interrupt = () => shared().reconnect()
  describeBackplane('natsBackplane (plain)', () => natsBackplane({ client: shared() }), { interrupt })
  describeBackplane(
    'natsBackplane (replay)',
    () => natsBackplane({ client: shared(), replay: { maxAgeMs: 60_000, storage: 'memory' } }),
    { interrupt },
  )
})

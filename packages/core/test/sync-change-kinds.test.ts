// Every change kind a writer makes reaches the others as its own event, even when the
// outbound queue deduplicates messages of one key.
import { afterEach, describe, expect, it } from 'vitest'
import type { KeyEvent } from '../src/index.js'
import { waitFor } from '../src/testing/index.js'
import { type Cluster, cluster } from './sync-fixtures.js'

let running: Cluster | undefined
afterEach(async () => {
  await running?.close()
  running = undefined
})

describe('change kinds across the backplane', () => {
  it('an add followed by an update in one batch reaches the receiver as add, then update', async () => {
    running = await cluster(2)
    const [writer, receiver] = running.managers
    if (writer === undefined || receiver === undefined) throw new Error('two managers expected')
    const heard: string[] = []
    for (const kind of ['add', 'set', 'update'] as const) {
      receiver.on(kind, (event: KeyEvent) => {
        if (event.origin === 'remote') heard.push(`${kind}:${event.key}`)
      })
    }
    // Both writes are queued before the bus publishes (it sends after the current turn): one batch.
    await writer.add('k', 1)
    await writer.update('k', (n) => (n as number) + 1)
    await writer.flush()
    await waitFor(() => heard.includes('update:k'), { message: 'the update of k heard' })
    expect(heard.filter((entry) => entry.endsWith(':k'))).toEqual(['add:k', 'update:k'])
  })
})

import { expect, test } from 'vitest'
import { main as expiration } from '../examples/concepts/expiration.js'
import { main as gaps } from '../examples/concepts/gaps.js'

test('an unrecovered gap clears the memory layer; a recovered one keeps it', async () => {
  expect(await gaps()).toEqual({
    before: 0,
    afterGap: 1,
    afterReplay: 0,
    log: ['gap reconnect recovered=false: cleared', 'gap reconnect recovered=true: kept'],
  })
})

test('maxLocalTtlMs caps the memory copy of a sliding item as absolute', async () => {
  expect(await expiration()).toEqual({ level: 0, mode: 'absolute', ttl: 60_000 })
})

import { expect, test } from 'vitest'
import { main as memory } from '../examples/adapters/memory.js'

test('the memory handle evicts the least recently used item past its byte bound', async () => {
  expect(await memory()).toEqual([{ key: 'a', reason: 'evicted', handle: 'memory' }])
})

import { expect, test } from 'vitest'
import { main as instances } from '../examples/getting-started/instances.js'
import { main as memoryOnly } from '../examples/getting-started/memory.js'

test('memory only: set, get, getOrAdd, update', async () => {
  expect(await memoryOnly()).toEqual({
    ada: { id: '42', name: 'Ada', visits: 0 },
    bob: { id: '7', name: 'Bob', visits: 0 },
    visited: { id: '42', name: 'Ada', visits: 1 },
  })
})

test('two instances: a write by one evicts the copy in the other', async () => {
  expect(await instances()).toEqual({
    first: { amount: 100, level: 1 },
    again: { amount: 100, level: 0 },
    after: { amount: 120, level: 1 },
  })
})

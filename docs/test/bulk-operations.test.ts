import { expect, test } from 'vitest'
import { main } from '../examples/bulk-operations/prices.js'

test('bulk operations: one getMany, one query for the misses, one setMany; removeMany in one frame', async () => {
  expect(await main()).toEqual({
    first: [100, 250, 75, undefined],
    second: [100, 250, 75, undefined],
    queries: 2,
    frames: 1,
  })
})

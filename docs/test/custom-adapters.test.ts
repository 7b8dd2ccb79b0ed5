import { expect, test } from 'vitest'
import { main as twoInstances } from '../examples/custom-adapters/two-instances.js'
import { main } from '../examples/custom-adapters/use-map-handle.js'

test('a manager over the custom map handle: scoped keys, region clear', async () => {
  expect(await main()).toEqual({
    keys: ['cacheplane:users::42', 'cacheplane:users:eu:42'],
    afterClear: ['cacheplane:users::42'],
  })
})

test('two instances over the custom map handle and the in-process hub', async () => {
  expect(await twoInstances()).toEqual({ first: [10, 1], after: [9, 1] })
})

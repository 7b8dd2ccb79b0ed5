import { expect, test } from 'vitest'
import { main } from '../examples/custom-adapters/use-map-handle.js'

test('a manager over the custom map handle: scoped keys, region clear', async () => {
  expect(await main()).toEqual({
    keys: ['cacheplane:users::42', 'cacheplane:users:eu:42'],
    afterClear: ['cacheplane:users::42'],
  })
})

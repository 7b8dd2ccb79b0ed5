import { expect, test } from 'vitest'
import { main } from '../examples/core-readme/quick-start.js'

test('core README: two managers on one hub see each other’s writes', async () => {
  expect(await main()).toEqual({ first: 'world', second: 'there' })
})

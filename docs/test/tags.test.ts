import { expect, test } from 'vitest'
import { main as userData } from '../examples/tags/user-data.js'

test('removeByTag on one instance invalidates every item of the tag on both', async () => {
  expect(await userData()).toEqual({
    before: 'free',
    gone: { orders: undefined, settings: false, profileInMemory: undefined },
    after: 'pro',
    loads: 2,
  })
})

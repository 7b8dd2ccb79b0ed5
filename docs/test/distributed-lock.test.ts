import { expect, test } from 'vitest'
import { main } from '../examples/distributed-lock/one-factory-call.js'

test('one factory call for three instances; the waiters are woken by the holder’s message', async () => {
  expect(await main()).toEqual({ calls: 2, sameUser: true, wakes: ['message', 'message'] })
})

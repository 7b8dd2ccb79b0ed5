import { expect, test } from 'vitest'
import { main } from '../examples/resilience/fail-safe.js'

test('grace, allowStale, fail-safe with a throttle, and remove never served stale', async () => {
  expect(await main()).toEqual({
    first: 100,
    plainGet: undefined,
    staleGet: 100,
    failSafe: 100,
    throttled: 100,
    afterRemove: undefined,
    log: ['failSafe sku-1: factory-failed', 'failSafe sku-1: throttled'],
  })
})

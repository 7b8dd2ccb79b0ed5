import { expect, test } from 'vitest'
import { main } from '../examples/coming-from-cachemanager/api.js'

test('the ICacheManager calls, mapped', async () => {
  expect(await main()).toEqual({
    added: false,
    version: 1,
    updated: 2,
    tried: { ok: false, reason: 'missing' },
    upserted: 1,
    loaded: 42,
    exists: true,
  })
})

import { expect, test } from 'vitest'
import { main as options } from '../examples/configuration/options.js'
import { main as perCall } from '../examples/configuration/per-call.js'

test('every manager option spelled out with its default (v8 serializer keeps a Map)', async () => {
  expect(await options()).toEqual(new Map([['ada', 3]]))
})

test('per-call options', async () => {
  expect(await perCall()).toEqual({ next: 2, result: { ok: false, reason: 'missing' } })
})

import { expect, it } from 'vitest'
import { newVersion } from '../src/index.js'

it('newVersion draws distinct safe integers over the whole 53-bit range, across batches', () => {
  const drawn = Array.from({ length: 5_000 }, () => newVersion())
  expect(drawn.every((v) => Number.isSafeInteger(v) && v >= 1)).toBe(true)
  expect(new Set(drawn).size).toBe(drawn.length)
  // Both halves of the range show up: the high 21 bits are random too, not only the low 32.
  expect(drawn.some((v) => v >= 2 ** 52)).toBe(true)
  expect(drawn.some((v) => v < 2 ** 52 && v >= 2 ** 32)).toBe(true)
})

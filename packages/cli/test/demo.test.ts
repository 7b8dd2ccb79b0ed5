import { expect, it } from 'vitest'
import { runCli } from '../src/run-cli.js'
import { captureIo } from './capture-io.js'

it('runs three instances and shows writes, invalidations and the answering layer', async () => {
  const io = captureIo()
  expect(await runCli(['demo'], io)).toBe(0)
  const out = io.stdout()
  expect(out).toMatch(/A {2}set product:42 = \{ name: 'lamp', price: 10 \}/)
  expect(out).toMatch(/B {2}heard 'set product:42' [\d.]+ ms after the write/)
  expect(out).toMatch(/C {2}heard 'set product:42' [\d.]+ ms after the write/)
  expect(out).toContain("B  get product:42 -> { name: 'lamp', price: 10 } answered by its shared layer")
  expect(out).toContain("B  get product:42 -> { name: 'lamp', price: 10 } answered by its memory layer")
  // After A's second write, B must not answer from its (evicted) memory copy.
  expect(out).toContain("B  get product:42 -> { name: 'lamp', price: 8 } answered by its shared layer")
  expect(out).toMatch(/A {2}heard 'remove product:42'/)
  expect(out).toContain('every read saw the latest value')
  expect(out).not.toContain('STALE')
  expect(io.stderr()).toBe('')
})

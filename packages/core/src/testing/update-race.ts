import { expect } from 'vitest'
import type { CacheManager } from '../cache-manager.js'
import { randomKey, waitFor } from './wait-for.js'

/**
 * The ABA sequence (issue 17), for a manager over any handle with compare-and-set: `updater`
 * reads a new key (value 1) and holds its update function while `other` removes the key and
 * adds 5. The compare-and-set prepared against the old item must not match the new one
 * (with versions that repeat, both items had version 1 and the add was lost as 101): it
 * conflicts, the update runs again on 5, and the result is 105, which `other` then reads.
 * Resolves with the update's result; the assertions inside fail the calling test.
 */
export async function removeAndReAddDuringUpdate(
  updater: CacheManager<unknown>,
  other: CacheManager<unknown> = updater,
): Promise<number> {
  const k = randomKey('aba')
  await updater.set(k, 1)
  let release!: () => void
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  let read!: () => void
  const hasRead = new Promise<void>((resolve) => {
    read = resolve
  })
  const pending = updater.update(k, async (v) => {
    read()
    await gate
    return (v as number) + 100
  })
  await hasRead
  await other.remove(k)
  expect(await other.add(k, 5)).toBe(true)
  release()
  const result = (await pending) as number
  await waitFor(async () => (await other.get(k)) === result, {
    message: `${k} = ${result} on the other instance`,
  })
  return result
}

/**
 * Worker side of `test/update-aba.test.ts`: slow updates in one process while another removes
 * the key and adds it again. Every value carries its generation in `by` (the remover's add
 * names a new one; an update keeps the generation it read), so an update applied to an item
 * it did not read leaves a value of a removed generation in the store.
 */
import type { CacheManager } from '@cacheplane/core'
import type { Value } from './protocol.js'

/** Gates of held updates: the update function waits on one until the test releases it. */
const gates = new Map<string, () => void>()

/** One successful update: the generation and count it read (last attempt) and when its function returned. */
export type UpdateRecord = [by: string, v: number, returnedAt: number]

/** One re-add: the generation added and when its add was acknowledged. */
export type ReAddRecord = [by: string, addedAt: number]

/**
 * `update` whose function adds `add` to what it read, keeping its generation, after `delayMs`
 * or, for the first attempt, after `gate` is released (`release`); `onRead` is called on each read.
 */
export async function slowUpdate(
  cache: CacheManager<Value>,
  key: string,
  options: { add: number; delayMs: number; gate?: string },
  onRead: (read: Value) => void = () => {},
): Promise<{ value: Value; record: UpdateRecord }> {
  let record: UpdateRecord | undefined
  let gate = options.gate
  const value = await cache.update(
    key,
    async (old) => {
      onRead(old)
      // Only the first attempt is held: a retry (after a conflict) runs at once.
      const held = gate
      gate = undefined
      if (held !== undefined) await new Promise<void>((resolve) => gates.set(held, resolve))
      else if (options.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, options.delayMs))
      record = [old.by, old.v, Date.now()]
      return { v: old.v + options.add, by: old.by }
    },
    { maxRetries: 1_000 },
  )
  return { value, record: record as UpdateRecord }
}

/** Releases a held {@link slowUpdate}; false when nothing waits on `gate`. */
export function release(gate: string): boolean {
  const open = gates.get(gate)
  gates.delete(gate)
  open?.()
  return open !== undefined
}

/** Slow updates one after the other until `durationMs` has passed; missing items are skipped. */
export async function slowUpdateLoop(
  cache: CacheManager<Value>,
  key: string,
  durationMs: number,
  delayMs: number,
): Promise<UpdateRecord[]> {
  const records: UpdateRecord[] = []
  const end = Date.now() + durationMs
  while (Date.now() < end) {
    try {
      records.push((await slowUpdate(cache, key, { add: 1, delayMs })).record)
    } catch (error) {
      // The key was removed between two re-adds: nothing to update, which is right.
      if ((error as { code?: string }).code !== 'E_UPDATE_MISSING') throw error
    }
  }
  return records
}

/** Removes the key and adds a new generation (`<prefix>-g<n>`, v 0) until `durationMs` has passed. */
export async function reAddLoop(
  cache: CacheManager<Value>,
  key: string,
  prefix: string,
  durationMs: number,
  pauseMs: number,
): Promise<ReAddRecord[]> {
  const records: ReAddRecord[] = []
  const end = Date.now() + durationMs
  for (let n = 1; Date.now() < end; n++) {
    const by = `${prefix}-g${n}`
    await cache.remove(key)
    if (!(await cache.add(key, { v: 0, by }))) throw new Error(`add of ${by} failed right after remove`)
    records.push([by, Date.now()])
    await new Promise((resolve) => setTimeout(resolve, pauseMs))
  }
  return records
}

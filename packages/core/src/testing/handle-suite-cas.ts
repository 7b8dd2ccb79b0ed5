import { expect } from 'vitest'
import type { HandleCheck } from './handle-check.js'
import { type HandleSuiteContext, input, isVersion, key, textOf, valueFor } from './handle-suite-context.js'

// Without cas core rejects `update` at the bottom for the handle, so none of this applies.
const noCas = (ctx: HandleSuiteContext) => (ctx.caps.cas ? undefined : 'the handle has no CAS')
const casCheck = (title: string, run: HandleCheck['run']): HandleCheck => ({ title, skip: noCas, run })

/** Writes `k`, reads it as an update would, runs `meanwhile`, then tries the update with the version read. */
async function preparedUpdate(
  ctx: HandleSuiteContext,
  k: string,
  region: string | undefined,
  meanwhile: () => Promise<unknown>,
) {
  const { caps } = ctx
  await ctx.handle.set(k, region, input(valueFor(caps, 'old')))
  const read = await ctx.handle.get(k, region)
  if (read === undefined) throw new Error('the item just written is missing')
  await meanwhile()
  return await ctx.handle.update(k, region, read.version, input(valueFor(caps, 'from old')))
}

/** Four workers increment one counter with read-modify-write loops. */
async function incrementConcurrently({ handle, caps }: HandleSuiteContext, k: string): Promise<void> {
  const worker = async () => {
    for (let done = 0; done < 10; ) {
      const item = await handle.get(k, undefined)
      if (item === undefined) throw new Error('the counter disappeared')
      const next = String(Number(textOf(caps, item)) + 1)
      const outcome = await handle.update(k, undefined, item.version, input(valueFor(caps, next)))
      if (outcome.status === 'missing') throw new Error('the counter disappeared')
      if (outcome.status === 'ok') done++
    }
  }
  await Promise.all([worker(), worker(), worker(), worker()])
}

/** Version-based compare-and-set `update` (capabilities.cas). */
export const compareAndSetChecks: readonly HandleCheck[] = [
  casCheck('writes when the expected version matches, with a new version', async ({ handle, caps }) => {
    const k = key()
    const v1 = await handle.set(k, 'r', input(valueFor(caps, 'one')))
    const outcome = await handle.update(k, 'r', v1, input(valueFor(caps, 'two')))
    expect(outcome.status).toBe('ok')
    const v2 = outcome.status === 'ok' ? outcome.version : 0
    expect(isVersion(v2) && v2 !== v1).toBe(true)
    const item = await handle.get(k, 'r')
    expect({ text: textOf(caps, item), version: item?.version }).toEqual({ text: 'two', version: v2 })
  }),
  casCheck('reports a conflict for a stale version and leaves the item alone', async ({ handle, caps }) => {
    const k = key()
    const v1 = await handle.set(k, undefined, input(valueFor(caps, 'one')))
    await handle.set(k, undefined, input(valueFor(caps, 'two')))
    expect(await handle.update(k, undefined, v1, input(valueFor(caps, 'stale')))).toEqual({
      status: 'conflict',
    })
    expect(textOf(caps, await handle.get(k, undefined))).toBe('two')
  }),
  casCheck('reports missing when there is no item (in that region)', async ({ handle, caps }) => {
    const k = key()
    await handle.set(k, 'elsewhere', input(valueFor(caps, 'x')))
    expect(await handle.update(k, undefined, 1, input(valueFor(caps, 'y')))).toEqual({ status: 'missing' })
    expect(await handle.update(k, 'r', 1, input(valueFor(caps, 'y')))).toEqual({ status: 'missing' })
    expect(await handle.get(k, undefined)).toBeUndefined()
  }),
  casCheck('stores an explicit version as is', async ({ handle, caps }) => {
    const k = key()
    const v1 = await handle.set(k, undefined, input(valueFor(caps, 'one')))
    expect(await handle.update(k, undefined, v1, input(valueFor(caps, 'two'), 'none', 0, 100))).toEqual({
      status: 'ok',
      version: 100,
    })
    expect((await handle.get(k, undefined))?.version).toBe(100)
  }),
  casCheck('concurrent read-modify-write loops lose no increment', async (ctx) => {
    const k = key()
    await ctx.handle.set(k, undefined, input(valueFor(ctx.caps, '0')))
    await incrementConcurrently(ctx, k)
    expect(textOf(ctx.caps, await ctx.handle.get(k, undefined))).toBe('40')
  }),
]

/** The item a writer put in the key's place meanwhile, as `preparedUpdate`'s meanwhile steps write it. */
const fresh = (ctx: HandleSuiteContext) => input(valueFor(ctx.caps, 'new'))

/** Each way of replacing a key's item between an update's read and its write: [region, replace]. */
const replacements = (
  ctx: HandleSuiteContext,
  k: string,
): Array<[string | undefined, () => Promise<void>]> => [
  [
    undefined,
    async () => {
      await ctx.handle.remove(k, undefined)
      await ctx.handle.set(k, undefined, fresh(ctx))
    },
  ],
  [
    undefined,
    async () => {
      await ctx.handle.clear()
      await ctx.handle.add(k, undefined, fresh(ctx))
    },
  ],
  [
    'r',
    async () => {
      await ctx.handle.clearRegion('r')
      await ctx.handle.add(k, 'r', fresh(ctx))
    },
  ],
]

/** One round of every write on `k`, collecting each version it produced. */
async function everyWriteOnce(
  ctx: HandleSuiteContext,
  k: string,
  round: number,
  seen: number[],
): Promise<void> {
  const { handle, caps } = ctx
  const versionNow = async () => (await handle.get(k, undefined))?.version ?? 0
  seen.push(await handle.set(k, undefined, input(valueFor(caps, 'a'))))
  const outcome = await handle.update(k, undefined, seen.at(-1)!, input(valueFor(caps, 'b')))
  seen.push(outcome.status === 'ok' ? outcome.version : 0)
  await handle.expire(k, undefined, 'absolute', 60_000, Date.now() + 60_000)
  seen.push(await versionNow())
  await (round % 2 === 0 ? handle.remove(k, undefined) : handle.clear())
  await handle.add(k, undefined, input(valueFor(caps, 'c')))
  seen.push(await versionNow())
  await handle.remove(k, undefined)
}

/**
 * The ABA problem: an update prepared against an item must not apply to another item that
 * took the key's place meanwhile, so a version never comes back for a key (StoredItem.version).
 */
export const versionsNeverRepeatChecks: readonly HandleCheck[] = [
  casCheck('an update prepared before remove + add conflicts with the new item', async (ctx) => {
    const k = key()
    const outcome = await preparedUpdate(ctx, k, undefined, async () => {
      expect(await ctx.handle.remove(k, undefined)).toBe(true)
      expect(await ctx.handle.add(k, undefined, fresh(ctx))).toBe(true)
    })
    expect(outcome).toEqual({ status: 'conflict' })
    expect(textOf(ctx.caps, await ctx.handle.get(k, undefined))).toBe('new')
  }),
  casCheck(
    'an update prepared before remove + set, clear + add or clearRegion + add conflicts',
    async (ctx) => {
      const k = key()
      for (const [region, meanwhile] of replacements(ctx, k)) {
        expect(await preparedUpdate(ctx, k, region, meanwhile)).toEqual({ status: 'conflict' })
        expect(textOf(ctx.caps, await ctx.handle.get(k, region))).toBe('new')
      }
    },
  ),
  casCheck('expire is a write: an update prepared before it conflicts', async (ctx) => {
    const k = key()
    const outcome = await preparedUpdate(ctx, k, undefined, async () => {
      expect(await ctx.handle.expire(k, undefined, 'absolute', 60_000, Date.now() + 60_000)).toBe(true)
    })
    expect(outcome).toEqual({ status: 'conflict' })
    expect(await ctx.handle.get(k, undefined)).toMatchObject({ mode: 'absolute', ttl: 60_000 })
  }),
  casCheck(
    'a key written, updated, expired, removed and cleared again and again never repeats a version',
    async (ctx) => {
      const k = key()
      const seen: number[] = []
      for (let round = 0; round < 8; round++) await everyWriteOnce(ctx, k, round, seen)
      expect(seen.every(isVersion)).toBe(true)
      expect(new Set(seen).size).toBe(seen.length)
    },
  ),
]

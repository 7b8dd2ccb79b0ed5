import { describe, expect, test } from 'vitest'
import { type HandleSuiteContext, input, isVersion, key, textOf, valueFor } from './handle-suite-context.js'

/** Version-based compare-and-set `update` (capabilities.cas). */
export function describeCas(ctx: HandleSuiteContext): void {
  const { caps } = ctx
  if (!caps.cas) {
    describe('update (capabilities.cas is false)', () => {
      test('does not claim cas: core rejects update at the bottom for this handle', () => {
        expect(caps.cas).toBe(false)
      })
    })
    return
  }
  describe('update (capabilities.cas)', () => {
    describeCompareAndSet(ctx)
    describeVersionsNeverRepeat(ctx)
  })
}

function describeCompareAndSet(ctx: HandleSuiteContext): void {
  const { caps } = ctx
  test('writes when the expected version matches, with a new version', async () => {
    const k = key()
    const v1 = await ctx.handle.set(k, 'r', input(valueFor(caps, 'one')))
    const outcome = await ctx.handle.update(k, 'r', v1, input(valueFor(caps, 'two')))
    expect(outcome.status).toBe('ok')
    const v2 = outcome.status === 'ok' ? outcome.version : 0
    expect(isVersion(v2) && v2 !== v1).toBe(true)
    const item = await ctx.handle.get(k, 'r')
    expect({ text: textOf(caps, item), version: item?.version }).toEqual({ text: 'two', version: v2 })
  })

  test('reports a conflict for a stale version and leaves the item alone', async () => {
    const k = key()
    const v1 = await ctx.handle.set(k, undefined, input(valueFor(caps, 'one')))
    await ctx.handle.set(k, undefined, input(valueFor(caps, 'two')))
    expect(await ctx.handle.update(k, undefined, v1, input(valueFor(caps, 'stale')))).toEqual({
      status: 'conflict',
    })
    expect(textOf(caps, await ctx.handle.get(k, undefined))).toBe('two')
  })

  test('reports missing when there is no item (in that region)', async () => {
    const k = key()
    await ctx.handle.set(k, 'elsewhere', input(valueFor(caps, 'x')))
    expect(await ctx.handle.update(k, undefined, 1, input(valueFor(caps, 'y')))).toEqual({
      status: 'missing',
    })
    expect(await ctx.handle.update(k, 'r', 1, input(valueFor(caps, 'y')))).toEqual({ status: 'missing' })
    expect(await ctx.handle.get(k, undefined)).toBeUndefined()
  })

  test('stores an explicit version as is', async () => {
    const k = key()
    const v1 = await ctx.handle.set(k, undefined, input(valueFor(caps, 'one')))
    expect(await ctx.handle.update(k, undefined, v1, input(valueFor(caps, 'two'), 'none', 0, 100))).toEqual({
      status: 'ok',
      version: 100,
    })
    expect((await ctx.handle.get(k, undefined))?.version).toBe(100)
  })

  test('concurrent read-modify-write loops lose no increment', async () => {
    const k = key()
    await ctx.handle.set(k, undefined, input(valueFor(caps, '0')))
    const worker = async () => {
      for (let done = 0; done < 10; ) {
        const item = await ctx.handle.get(k, undefined)
        if (item === undefined) throw new Error('the counter disappeared')
        const next = String(Number(textOf(caps, item)) + 1)
        const outcome = await ctx.handle.update(k, undefined, item.version, input(valueFor(caps, next)))
        if (outcome.status === 'missing') throw new Error('the counter disappeared')
        if (outcome.status === 'ok') done++
      }
    }
    await Promise.all([worker(), worker(), worker(), worker()])
    expect(textOf(caps, await ctx.handle.get(k, undefined))).toBe('40')
  })
}

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

/**
 * The ABA problem: an update prepared against an item must not apply to another item that
 * took the key's place meanwhile, so a version never comes back for a key (StoredItem.version).
 */
function describeVersionsNeverRepeat(ctx: HandleSuiteContext): void {
  const { caps } = ctx
  const fresh = () => input(valueFor(caps, 'new'))

  test('an update prepared before remove + add conflicts with the new item', async () => {
    const k = key()
    const outcome = await preparedUpdate(ctx, k, undefined, async () => {
      expect(await ctx.handle.remove(k, undefined)).toBe(true)
      expect(await ctx.handle.add(k, undefined, fresh())).toBe(true)
    })
    expect(outcome).toEqual({ status: 'conflict' })
    expect(textOf(caps, await ctx.handle.get(k, undefined))).toBe('new')
  })

  test('an update prepared before remove + set, clear + add or clearRegion + add conflicts', async () => {
    const k = key()
    const steps: Array<[string | undefined, () => Promise<void>]> = [
      [
        undefined,
        async () => {
          await ctx.handle.remove(k, undefined)
          await ctx.handle.set(k, undefined, fresh())
        },
      ],
      [
        undefined,
        async () => {
          await ctx.handle.clear()
          await ctx.handle.add(k, undefined, fresh())
        },
      ],
      [
        'r',
        async () => {
          await ctx.handle.clearRegion('r')
          await ctx.handle.add(k, 'r', fresh())
        },
      ],
    ]
    for (const [region, meanwhile] of steps) {
      expect(await preparedUpdate(ctx, k, region, meanwhile)).toEqual({ status: 'conflict' })
      expect(textOf(caps, await ctx.handle.get(k, region))).toBe('new')
    }
  })
  describeExpireIsAWrite(ctx)
}

/** `expire` gives a new version; over many rounds of every write, a key never repeats one. */
function describeExpireIsAWrite(ctx: HandleSuiteContext): void {
  const { caps } = ctx
  test('expire is a write: an update prepared before it conflicts', async () => {
    const k = key()
    const outcome = await preparedUpdate(ctx, k, undefined, async () => {
      expect(await ctx.handle.expire(k, undefined, 'absolute', 60_000, Date.now() + 60_000)).toBe(true)
    })
    expect(outcome).toEqual({ status: 'conflict' })
    expect(await ctx.handle.get(k, undefined)).toMatchObject({ mode: 'absolute', ttl: 60_000 })
  })

  test('a key written, updated, expired, removed and cleared again and again never repeats a version', async () => {
    const k = key()
    const seen: number[] = []
    const versionNow = async () => (await ctx.handle.get(k, undefined))?.version ?? 0
    for (let round = 0; round < 8; round++) {
      seen.push(await ctx.handle.set(k, undefined, input(valueFor(caps, 'a'))))
      const outcome = await ctx.handle.update(k, undefined, seen.at(-1)!, input(valueFor(caps, 'b')))
      seen.push(outcome.status === 'ok' ? outcome.version : 0)
      await ctx.handle.expire(k, undefined, 'absolute', 60_000, Date.now() + 60_000)
      seen.push(await versionNow())
      await (round % 2 === 0 ? ctx.handle.remove(k, undefined) : ctx.handle.clear())
      await ctx.handle.add(k, undefined, input(valueFor(caps, 'c')))
      seen.push(await versionNow())
      await ctx.handle.remove(k, undefined)
    }
    expect(seen.every(isVersion)).toBe(true)
    expect(new Set(seen).size).toBe(seen.length)
  })
}

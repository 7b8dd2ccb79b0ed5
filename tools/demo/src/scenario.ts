/**
 * The demo's story: three instances share a cache of product prices. One writes,
 * the others read (from the store, then from memory), a change on one instance
 * invalidates the others' memory copies, and their next read fetches the new value.
 * Then the shared store goes away and comes back (act 5, `outage-act.ts`).
 * Every read is checked: an instance that served a replaced value fails the demo.
 */
import { isDeepStrictEqual } from 'node:util'
import { type DemoInstance, now } from './instance.js'
import { runOutageAct } from './outage-act.js'
import type { Timeline } from './timeline.js'

const show = (value: unknown) => (value === undefined ? 'nothing' : JSON.stringify(value))

async function read(t: Timeline, instance: DemoInstance, key: string, expected: unknown, region?: string) {
  const { value, answeredBy } = await instance.get(key, region)
  const from = answeredBy === 'miss' ? 'a miss in every layer' : `from ${answeredBy}`
  t.step(instance.name, `get    '${key}' -> ${show(value)}  (${from})`)
  if (!isDeepStrictEqual(value, expected)) {
    throw new Error(`${instance.name} read ${show(value)} for '${key}', expected ${show(expected)}`)
  }
}

/** Runs the story on instances A, B and C. */
export async function runScenario(
  t: Timeline,
  [a, b, c]: readonly [DemoInstance, DemoInstance, DemoInstance],
) {
  const others = (writer: DemoInstance) => [a, b, c].filter((i) => i !== writer).map((i) => i.name)
  const key = 'price:espresso'

  t.act('1. A writes; B and C read it from the shared store, then from their own memory')
  let at = now()
  await a.set(key, { eur: 2.5 })
  t.step('A', `set    '${key}' = {"eur":2.5}  (shared store first, then A's memory; then announced)`, at)
  await t.invalidated(others(a), 'set', at)
  await read(t, b, key, { eur: 2.5 })
  await read(t, c, key, { eur: 2.5 })
  await read(t, b, key, { eur: 2.5 })

  t.act('2. C raises the price; A and B drop their copies and read the new one')
  at = now()
  await c.update(key, 'eur', 2.8)
  t.step('C', `update '${key}' eur 2.5 -> 2.8  (compare-and-set on the shared store)`, at)
  await t.invalidated(others(c), 'update', at)
  await read(t, a, key, { eur: 2.8 })
  await read(t, b, key, { eur: 2.8 })
  await read(t, a, key, { eur: 2.8 })

  t.act('3. Regions: B fills the "eu" region, then clears it; the "us" region is untouched')
  await b.set('price:latte', { eur: 3.2 }, 'eu')
  await b.set('price:latte', { usd: 3.9 }, 'us')
  t.step('B', `set    'price:latte' in regions "eu" and "us" (two items)`)
  await read(t, a, 'price:latte', { eur: 3.2 }, 'eu')
  await read(t, a, 'price:latte', { usd: 3.9 }, 'us')
  at = now()
  await b.clearRegion('eu')
  t.step('B', `clearRegion "eu"`, at)
  await t.invalidated(others(b), 'clearRegion', at)
  await read(t, a, 'price:latte', undefined, 'eu')
  await read(t, a, 'price:latte', { usd: 3.9 }, 'us')

  t.act('4. A removes the espresso price; nobody serves it any more')
  at = now()
  await a.remove(key)
  t.step('A', `remove '${key}'`, at)
  await t.invalidated(others(a), 'remove', at)
  await read(t, b, key, undefined)
  await read(t, c, key, undefined)

  await runOutageAct(t, [a, b, c])
}

/**
 * Act 5 of the demo: the shared store goes away. Every instance keeps answering from the
 * graced value it holds (fail-safe) without calling the source, and once the store is
 * back and the throttle window is over, one instance loads the new price and the others
 * read it. Every answer is checked, as in the other acts.
 */
import { isDeepStrictEqual } from 'node:util'
import { type DemoInstance, LOAD_OPTIONS, type LoadResult, now } from './instance.js'
import type { Timeline } from './timeline.js'

const KEY = 'price:mocha'
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function describe(result: LoadResult): string {
  if (result.failSafe !== undefined) return `graced value, fail-safe: ${result.failSafe}; source not called`
  return result.factoryCalled ? 'loaded from the source' : 'cached'
}

async function load(
  t: Timeline,
  instance: DemoInstance,
  value: unknown,
  expected: unknown,
  failSafe?: string,
) {
  const result = await instance.getOrAdd(KEY, value)
  t.step(instance.name, `getOrAdd '${KEY}' -> ${JSON.stringify(result.value)}  (${describe(result)})`)
  if (!isDeepStrictEqual(result.value, expected) || result.failSafe !== failSafe) {
    throw new Error(
      `${instance.name} answered ${JSON.stringify(result.value)} (fail-safe ${String(result.failSafe)}) for '${KEY}', expected ${JSON.stringify(expected)} (fail-safe ${String(failSafe)})`,
    )
  }
}

/** Runs act 5 on A, B and C. */
export async function runOutageAct(
  t: Timeline,
  [a, b, c]: readonly [DemoInstance, DemoInstance, DemoInstance],
): Promise<void> {
  const { ttl } = LOAD_OPTIONS.expiration as { ttl: number }
  t.act('5. The shared store goes away: every instance answers from its graced value, then recovers')
  let at = now()
  await load(t, a, { eur: 3 }, { eur: 3 })
  // B and C read after hearing A's add: a read racing it would (rightly) not keep a copy.
  await t.invalidated(['B', 'C'], 'add', at)
  await load(t, b, { eur: 9 }, { eur: 3 })
  await load(t, c, { eur: 9 }, { eur: 3 })
  await sleep(ttl + 50)
  t.step(
    '-',
    `'${KEY}' is past its ${ttl} ms of freshness; kept ${LOAD_OPTIONS.grace} ms more as a graced value`,
  )
  await Promise.all([a, b, c].map((instance) => instance.outage(true)))
  t.step('-', 'the shared store is unreachable from every instance')
  for (const instance of [a, b, c]) await load(t, instance, { eur: 3.4 }, { eur: 3 }, 'store-failed')
  await load(t, a, { eur: 3.4 }, { eur: 3 }, 'throttled')
  await Promise.all([a, b, c].map((instance) => instance.outage(false)))
  t.step('-', `the store is back; the ${LOAD_OPTIONS.failSafeThrottleMs} ms throttle window runs out`)
  await sleep((LOAD_OPTIONS.failSafeThrottleMs ?? 0) + 50)
  at = now()
  await load(t, a, { eur: 3.4 }, { eur: 3.4 })
  await t.invalidated(['B', 'C'], 'set', at)
  await load(t, b, { eur: 9 }, { eur: 3.4 })
  await load(t, c, { eur: 9 }, { eur: 3.4 })
}

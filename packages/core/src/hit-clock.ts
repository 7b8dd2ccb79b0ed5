/**
 * The clock hits check expiry against. `Date.now()` costs about 40 ns on the machine the
 * benchmarks run on, as much as the rest of a memory hit, and allocates the 16-byte heap number
 * it returns (epoch ms do not fit a small integer). So hits share one reading of the clock:
 * taken at most {@link HIT_CLOCK_READS} reads ago and, from one turn of the event loop to the
 * next, at most about 1 ms ago (a timer drops it; a timer, not a microtask, so an awaited loop
 * of hits shares it too). A hit may therefore serve an item up to that long past its expiry,
 * as lru-cache's default `ttlResolution` does. Writes, `expire`, `remove` and sweeps read the
 * clock exactly.
 *
 * When `Date.now` is not the engine's own (fake timers, a test's clock), every read calls it:
 * a clock moved by a test is seen at once. The timer is Node's own (`node:timers`), so fake
 * timers installed on the globals cannot hold a reading.
 */

import { setTimeout } from 'node:timers'

/** Reads that share one reading, at most. */
export const HIT_CLOCK_READS = 16

/** How long a reading lasts across turns of the event loop, ms. */
const READING_LIFETIME_MS = 1

/** The engine's `Date.now`, or undefined when it was already replaced when this module loaded. */
const engineNow: (() => number) | undefined = isNative(Date.now) ? Date.now : undefined

/** The reading; a typed array, so that neither storing nor loading it allocates a heap number. */
const reading = new Float64Array(1)
/** Reads left on the reading; 0 = take a new one. */
let readsLeft = 0
/** Drops the reading after {@link READING_LIFETIME_MS}; armed while there is a reading. */
let timer: ReturnType<typeof setTimeout> | undefined
let armed = false

/**
 * Epoch ms for a hit's expiry check: a reading of the clock at most {@link HIT_CLOCK_READS}
 * reads and about 1 ms old (or `Date.now()` itself while it is replaced). For hot paths only:
 * what decides a write's times reads `Date.now()`.
 */
export function hitClock(): number {
  return hitClockSince(EPOCH)
}

/**
 * `hitClock() - origin.base`, a small integer when it fits: what a handle that keeps its times
 * as offsets from a base compares them with. It takes the object holding the base and returns
 * the offset, not epoch ms: where V8 does not inline the call, a double crossing it would be
 * boxed, a new heap number on every hit.
 */
export function hitClockSince(origin: { readonly base: number }): number {
  // Each branch subtracts on its own: a variable merging the typed array's raw double with
  // takeReading()'s boxed one would box the raw one on every hit.
  if (readsLeft > 0 && Date.now === engineNow) {
    readsLeft--
    return small((reading[0] as number) - origin.base)
  }
  return small(takeReading() - origin.base)
}

/** A whole number kept unboxed when it fits a small integer (`| 0` is what turns it back). */
function small(ms: number): number {
  const int = ms | 0
  return int === ms ? int : ms
}

/** The origin of {@link hitClock}: epoch ms. */
const EPOCH = { base: 0 }

/** A new reading, epoch ms (or the replaced `Date.now`'s time, which is never kept). */
function takeReading(): number {
  const now = Date.now()
  if (Date.now !== engineNow) {
    // Replaced: a reading taken before must not outlive the replacement either.
    readsLeft = 0
    return now
  }
  reading[0] = now
  readsLeft = HIT_CLOCK_READS - 1
  if (!armed) {
    armed = true
    if (timer === undefined) {
      timer = setTimeout(dropReading, READING_LIFETIME_MS)
      // unref: a cache must never keep the process alive.
      timer.unref()
    } else timer.refresh()
  }
  return now
}

function dropReading(): void {
  armed = false
  readsLeft = 0
}

function isNative(fn: () => number): boolean {
  return /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(fn))
}

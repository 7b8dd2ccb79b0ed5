/**
 * The clock hits check expiry against. `Date.now()` costs about 40 ns on the machine the
 * benchmarks run on, as much as the rest of a hit, and allocates the 16-byte heap number it returns (epoch ms do
 * not fit a small integer). So reads share one reading of the clock: taken at most
 * {@link READS_PER_READING} reads ago and, from one turn of the event loop to the next, at most
 * about 1 ms ago (a timer drops it; a timer, not a microtask, so an awaited loop of hits shares
 * it too). A hit may therefore serve an item up to that long past its expiry, as lru-cache's
 * default `ttlResolution` does; writes, `expire`, `remove` and the sweep read the clock exactly.
 *
 * When `Date.now` is not the engine's own (fake timers, a test's clock), every read calls it:
 * a clock moved by a test is seen at once. The timer is Node's own (`node:timers`), so fake
 * timers installed on the globals cannot hold a reading.
 */

import { setTimeout } from 'node:timers'
import type { EntryShape } from './entry-shape.js'
import { timeOffset } from './memory-entry.js'

/** Reads that share one reading, at most. */
export const READS_PER_READING = 16

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
 * Ms from the time base of `shape` (its entries' times count from it) to the clock, as of a
 * reading at most {@link READS_PER_READING} reads or about 1 ms old. It takes the shape, not
 * its base, and returns the offset, not epoch ms: both cross a call V8 did not inline without
 * boxing a double (an epoch-ms argument or result would be a new heap number each time).
 */
export function msSince(shape: EntryShape<unknown>): number {
  if (readsLeft > 0 && Date.now === engineNow) {
    readsLeft--
    return timeOffset(reading[0] as number, shape.base)
  }
  return timeOffset(takeReading(), shape.base)
}

/** A new reading, epoch ms (or the replaced `Date.now`'s time, which is never kept). */
function takeReading(): number {
  const now = Date.now()
  if (Date.now !== engineNow) {
    // Replaced: a reading taken before must not outlive the replacement either.
    readsLeft = 0
    return now
  }
  reading[0] = now
  readsLeft = READS_PER_READING - 1
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

/**
 * Which backplanes already serve a cache. A backplane that cannot multiplex hears one
 * channel only, so a second cache on it would be subscribed to nothing and serve replaced
 * values for ever; it is refused at construction instead. Kept in a WeakSet keyed by the
 * backplane object, so nothing outlives the backplanes themselves.
 */
import type { Backplane } from '../contracts/backplane.js'
import { type CacheplaneError, InvalidOptionsError } from '../errors.js'

const claimed = new WeakSet<Backplane>()

/** Throws `InvalidOptionsError` when `backplane` cannot serve another cache; records nothing. */
export function checkBackplaneFree(backplane: Backplane): void {
  if (backplane.capabilities?.multiplex === true || !claimed.has(backplane)) return
  throw refusal(backplane)
}

/** Records a cache on `backplane`; throws `InvalidOptionsError` when it cannot serve another. */
export function claimBackplane(backplane: Backplane): void {
  if (backplane.capabilities.multiplex === true) return
  checkBackplaneFree(backplane)
  claimed.add(backplane)
}

function refusal(backplane: Backplane): CacheplaneError {
  return new InvalidOptionsError(
    `backplane '${backplane.name}' serves one cache only (capabilities.multiplex is false); ` +
      'give this cache its own backplane, or use one that multiplexes',
    { source: backplane.name },
  )
}

/**
 * Who closes a handle, and which handles several managers may share. The rule: a manager
 * owns every handle it is given, and `close()` closes them, except the handles listed in
 * its `shared` option, which it uses and never closes (whoever created them does). An
 * owned handle belongs to that one manager while it is open: giving it to another manager
 * is an error, because the first `close()` would close it under the other. A handle used
 * by several managers is listed in `shared` by every one of them, and must be distributed
 * and serve one cache name: a local handle is one manager's private copy, kept right by
 * that manager's fence and invalidations, which another manager's writes would bypass; and
 * a distributed handle scopes its keys by one cache name. (Backplanes are not claimed: one
 * backplane serves any number of caches, and closes what it opened with its last user.)
 *
 * Ownership is checked across managers with one registry per copy of core, a WeakMap keyed
 * by the objects themselves: nothing is kept alive by it, and a manager's claims are
 * released when it closes.
 */
import type { CacheHandle } from './contracts/cache-handle.js'
import { InvalidOptionsError } from './errors.js'

/** How open managers use one handle: the cache of the manager that owns it, or the cache and count of its sharers. */
interface Claim {
  owner: string | undefined
  cacheName: string
  sharers: number
}

const claims = new WeakMap<object, Claim>()

/** What a manager is given, split by ownership. */
export interface Uses {
  /** Handles the manager owns (every handle not in `shared`). */
  readonly owned: readonly CacheHandle<unknown>[]
  /** Handles the manager uses and never closes. */
  readonly shared: readonly CacheHandle<unknown>[]
}

/**
 * Records that the manager of `cacheName` owns `uses.owned` and the backplane and shares
 * `uses.shared`; throws InvalidOptionsError (recording nothing) when another open manager's
 * claims conflict. Returns the release function `close()` calls.
 */
export function claimUses(uses: Uses, cacheName: string): () => void {
  for (const handle of uses.owned) checkFree(handle, `handle '${handle.name}'`, handleRemedy, handle.name)
  for (const handle of uses.shared) checkShareable(handle, cacheName)
  for (const handle of uses.owned) claims.set(handle, { owner: cacheName, cacheName, sharers: 0 })
  for (const handle of uses.shared) {
    const claim = claims.get(handle)
    if (claim === undefined) claims.set(handle, { owner: undefined, cacheName, sharers: 1 })
    else claim.sharers++
  }
  let released = false
  return () => {
    if (released) return
    released = true
    for (const handle of uses.owned) claims.delete(handle)
    for (const handle of uses.shared) {
      const claim = claims.get(handle)
      if (claim !== undefined && --claim.sharers === 0) claims.delete(handle)
    }
  }
}

/** Throws when `handle` cannot be shared by this manager (see the rule above). */
function checkShareable(handle: CacheHandle<unknown>, cacheName: string): void {
  const fail = (message: string) =>
    new InvalidOptionsError(`CacheManager: ${message}`, { source: handle.name })
  if (handle.capabilities?.distributed !== true) {
    throw fail(
      `handle '${handle.name}' is in \`shared\` but is local: a local handle belongs to one manager, create one per manager`,
    )
  }
  const claim = claims.get(handle)
  if (claim?.owner !== undefined) {
    throw fail(
      `handle '${handle.name}' is in \`shared\` but the open manager of cache '${claim.owner}' owns it and would close it under this one; list it in that manager's \`shared\` too`,
    )
  }
  if (claim !== undefined && claim.cacheName !== cacheName) {
    throw fail(
      `distributed handle '${handle.name}' serves cache '${claim.cacheName}' and cannot also serve cache '${cacheName}': create one handle per cache`,
    )
  }
}

const handleRemedy =
  'list it in `shared` in every manager that uses it (its creator then closes it), or give each manager its own'

/** Throws when another open manager owns or shares `object`, which this manager is to own. */
function checkFree(object: object, what: string, remedy: string, source: string): void {
  const claim = claims.get(object)
  if (claim === undefined) return
  const user =
    claim.owner === undefined
      ? 'shared by other open managers'
      : `owned by the open manager of cache '${claim.owner}'`
  throw new InvalidOptionsError(
    `CacheManager: ${what} is already ${user}; a manager owns and closes what it is given, so ${remedy}`,
    { source },
  )
}

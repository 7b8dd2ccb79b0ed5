/**
 * Who closes a handle or a backplane. The rule: a manager owns every handle and the
 * backplane it is given, and `close()` closes them, except the handles listed in its
 * `shared` option, which it uses and never closes (whoever created them does). An owned
 * object belongs to that one manager while it is open: giving it to another manager is an
 * error, because the first `close()` would close it under the other. A handle used by
 * several managers is listed in `shared` by every one of them.
 *
 * Ownership is checked across managers with one registry per copy of core, a WeakMap keyed
 * by the objects themselves: nothing is kept alive by it, and a manager's claims are
 * released when it closes.
 */
import type { Backplane } from './contracts/backplane.js'
import type { CacheHandle } from './contracts/cache-handle.js'
import { InvalidOptionsError } from './errors.js'

/** How open managers use one object: the cache of the manager that owns it, or how many share it. */
interface Claim {
  owner: string | undefined
  sharers: number
}

const claims = new WeakMap<object, Claim>()

/** What a manager is given, split by ownership. */
export interface Uses {
  /** Handles the manager owns (every handle not in `shared`). */
  readonly owned: readonly CacheHandle<unknown>[]
  /** The backplane, always owned. */
  readonly backplane: Backplane | undefined
  /** Handles the manager uses and never closes. */
  readonly shared: readonly CacheHandle<unknown>[]
}

/**
 * Records that the manager of `cacheName` owns `uses.owned` and the backplane and shares
 * `uses.shared`; throws InvalidOptionsError (recording nothing) when another open manager's
 * claims conflict. Returns the release function `close()` calls.
 */
export function claimUses(uses: Uses, cacheName: string): () => void {
  const owned: object[] = [...uses.owned]
  for (const handle of uses.owned) checkFree(handle, `handle '${handle.name}'`, handleRemedy, handle.name)
  if (uses.backplane !== undefined) {
    const { name } = uses.backplane
    checkFree(
      uses.backplane,
      `backplane '${name}'`,
      'a backplane carries one cache: give each manager its own',
      name,
    )
    owned.push(uses.backplane)
  }
  for (const handle of uses.shared) {
    const owner = claims.get(handle)?.owner
    if (owner !== undefined) {
      throw new InvalidOptionsError(
        `CacheManager: handle '${handle.name}' is in \`shared\` but the open manager of cache '${owner}' owns it and would close it under this one; list it in that manager's \`shared\` too`,
        { source: handle.name },
      )
    }
  }
  for (const object of owned) claims.set(object, { owner: cacheName, sharers: 0 })
  for (const handle of uses.shared) {
    const claim = claims.get(handle)
    if (claim === undefined) claims.set(handle, { owner: undefined, sharers: 1 })
    else claim.sharers++
  }
  let released = false
  return () => {
    if (released) return
    released = true
    for (const object of owned) claims.delete(object)
    for (const handle of uses.shared) {
      const claim = claims.get(handle)
      if (claim !== undefined && --claim.sharers === 0) claims.delete(handle)
    }
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

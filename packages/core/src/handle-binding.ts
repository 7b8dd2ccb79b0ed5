/**
 * The cache a handle serves, for handles that scope their keys by cache name (`bind`).
 * Core's rule for a handle given to several managers: managers of one cache may share it
 * (they address the same keys), a manager of another cache may not. A closed handle refuses
 * every call, because clients such as memjs would quietly reconnect on the next request.
 */
import { ClosedError, InvalidOptionsError } from './errors.js'

/** What a handle set up for its cache (key layout, generations, ...), behind its `bind`. */
export class HandleBinding<S> {
  readonly #label: string
  readonly #source: string
  #cacheName: string | undefined
  #scope: S | undefined
  #closed = false

  /** `label` names the handle in errors (`memcached handle 'sessions'`); `source` is its name. */
  constructor(label: string, source: string) {
    this.#label = label
    this.#source = source
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed
  }

  /**
   * Binds to `cacheName`, creating the scope with `create` the first time; returns the new
   * scope, or undefined when already bound to that cache. Throws InvalidOptionsError for
   * another cache.
   */
  bind(cacheName: string, create: (cacheName: string) => S): S | undefined {
    if (this.#scope !== undefined) {
      if (cacheName === this.#cacheName) return undefined
      throw new InvalidOptionsError(
        `${this.#label} is already used by cache '${this.#cacheName}'; give each cache its own handle`,
        { source: this.#source },
      )
    }
    this.#scope = create(cacheName)
    this.#cacheName = cacheName
    return this.#scope
  }

  /** The scope of the bound cache; throws ClosedError after close, InvalidOptionsError before bind. */
  scope(): S {
    if (this.#closed) throw new ClosedError(`${this.#label} is closed`, { source: this.#source })
    if (this.#scope === undefined) {
      throw new InvalidOptionsError(
        `${this.#label} is not bound to a cache: give it to a CacheManager (which calls bind(cacheName))`,
        { source: this.#source },
      )
    }
    return this.#scope
  }

  /** Marks the handle closed; true the first time, so the caller releases its resources once. */
  close(): boolean {
    if (this.#closed) return false
    this.#closed = true
    return true
  }
}

/**
 * The retry loop of a compare-and-set inside one handle call (Memcached's `add` and
 * `expire`: gets, decide, then a write conditional on the token read). Losing a round
 * means another writer changed the item in between; the round starts again from a fresh
 * read. With w writers racing on one key a writer loses a round with probability about
 * (w-1)/w, so the default bound is generous: losing 64 rounds in a row does not happen in
 * practice, and when it does the caller gets a typed ConflictError, never a plain Error.
 * (`update` makes one attempt and reports a conflict: core's update loop retries it.)
 */
import { ConflictError } from './errors.js'

/** What a round returns when it lost the race and must run again. */
export const RETRY_ROUND: unique symbol = Symbol('cacheplane.retryRound')

/** Rounds a compare-and-set loop runs before it gives up, unless told otherwise. */
export const defaultCasAttempts = 64

/** Names the loop in its ConflictError. */
export interface CompareAndSetContext {
  /** The handle operation (`expire`). */
  readonly operation: string
  /** The store key. */
  readonly key: string
  /** The handle's name. */
  readonly source: string
  /** Rounds before giving up (default {@link defaultCasAttempts}). */
  readonly maxAttempts?: number
}

/** Runs `round` until it returns something other than {@link RETRY_ROUND}; throws ConflictError after the last attempt. */
export async function retryCompareAndSet<T>(
  round: () => Promise<T | typeof RETRY_ROUND>,
  context: CompareAndSetContext,
): Promise<T> {
  const attempts = context.maxAttempts ?? defaultCasAttempts
  for (let attempt = 0; attempt < attempts; attempt++) {
    const result = await round()
    if (result !== RETRY_ROUND) return result
  }
  throw new ConflictError(
    `${context.operation} '${context.key}': the item changed during ${attempts} attempts`,
    { source: context.source },
  )
}

import { randomBytes } from 'node:crypto'

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this many ms. Default 5,000. */
  readonly timeoutMs?: number
  /** Poll every this many ms. Default 10. */
  readonly intervalMs?: number
  /** What is being waited for, for the timeout message. */
  readonly message?: string
}

/**
 * Polls `predicate` until it returns a truthy value (which is returned) or the deadline
 * passes, then throws with the last value or error seen. Tests wait with this instead of
 * sleeping: it is as fast as the system allows and fails with a reason when it is not.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const { timeoutMs = 5_000, intervalMs = 10, message } = options
  const deadline = Date.now() + timeoutMs
  let last: unknown
  let lastError: unknown
  for (;;) {
    try {
      last = await predicate()
      lastError = undefined
      if (last) return last as NonNullable<T>
    } catch (error) {
      lastError = error
    }
    if (Date.now() >= deadline) break
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
  const what = message ?? predicate.toString().slice(0, 200)
  const seen = lastError === undefined ? `last value: ${String(last)}` : `last error: ${String(lastError)}`
  throw new Error(`waitFor timed out after ${timeoutMs} ms waiting for ${what} (${seen})`, {
    cause: lastError,
  })
}

/** A random key (or cache name) so tests never collide, even on a shared server. */
export function randomKey(prefix = 'key'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`
}

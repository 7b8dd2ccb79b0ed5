import { describe, test } from 'vitest'
import type { HandleSuiteContext } from './handle-suite-context.js'

/**
 * One conformance check. Checks are data rather than inline `test()` calls so that core's
 * own tests can run each one against deliberately broken handles and show it fails for
 * them: a check that cannot fail proves nothing about the handle it passes for.
 */
export interface HandleCheck {
  /** The test title. */
  readonly title: string
  /**
   * Why the check does not apply to the handle under test (it lacks the capability or the
   * optional member), or undefined when it runs. Read at collection, from the probe handle.
   */
  readonly skip?: (ctx: HandleSuiteContext) => string | undefined
  /** Exercises the handle; rejects when it breaks the contract. */
  readonly run: (ctx: HandleSuiteContext) => Promise<void>
}

/** A describe block of the suite: a title that may show the capability it depends on, and its checks. */
export interface HandleCheckGroup {
  readonly title: (ctx: HandleSuiteContext) => string
  readonly checks: readonly HandleCheck[]
}

/**
 * Registers `groups` as describe blocks. A check that does not apply is reported by vitest
 * as skipped with its reason in the title, so nothing is left out silently and nothing
 * passes by asserting only the capability it is guarded by.
 */
export function registerCheckGroups(ctx: HandleSuiteContext, groups: readonly HandleCheckGroup[]): void {
  for (const group of groups) {
    describe(group.title(ctx), () => {
      for (const check of group.checks) {
        const reason = check.skip?.(ctx)
        if (reason === undefined) test(check.title, () => check.run(ctx))
        else test.skip(`${check.title} (skipped: ${reason})`, () => {})
      }
    })
  }
}

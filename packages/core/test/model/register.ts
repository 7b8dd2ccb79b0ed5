/**
 * Registers a model property as a vitest test: `ciRuns` histories in CI, as many as
 * `--runs` asks otherwise, and replayable with `--seed` and `--path` (see `env.ts`).
 */
import { it } from 'vitest'
import type { StoreSetup } from './cluster.js'
import { modelEnv } from './env.js'
import type { GenerateOptions } from './history.js'
import { checkModel } from './property.js'

const env = modelEnv()

/** What a property runs against and generates. */
export interface PropertySpec {
  /** The property's id (`--property` selects it). */
  readonly id: string
  readonly title: string
  /** The store, made when the test runs (a real store's address is known only then). */
  readonly setup: () => StoreSetup
  readonly generate: GenerateOptions
  /** Histories in CI. */
  readonly ciRuns: number
  /** The test's time budget per history, ms. */
  readonly msPerHistory: number
  /** Runs only when `--property` names it. */
  readonly explicit?: boolean
}

/** Registers `spec` as a test. */
export function modelProperty(spec: PropertySpec): void {
  const steps = env.steps ?? spec.generate.maxSteps
  // Longer histories take longer: the time budget grows with them.
  const msPerHistory = (spec.msPerHistory * Math.max(steps, spec.generate.maxSteps)) / spec.generate.maxSteps
  it.skipIf(!env.selected(spec.id, spec.explicit))(
    spec.title,
    async () => {
      await checkModel({
        name: spec.id,
        setup: spec.setup(),
        generate: { ...spec.generate, maxSteps: steps },
        runs: env.runs(spec.ciRuns),
        seed: env.seed,
        path: env.path,
        only: env.only,
      })
    },
    env.timeout(spec.ciRuns, msPerHistory),
  )
}

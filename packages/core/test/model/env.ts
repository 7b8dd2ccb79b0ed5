/**
 * How a run of the model is configured from the environment (`pnpm test:model` sets these
 * from its flags; CI sets none and gets the fixed run counts):
 * - MODEL_RUNS: histories per property (overrides each property's CI count);
 * - MODEL_SEED, MODEL_PATH: replay a failure (the report prints both);
 * - MODEL_PROPERTY: comma-separated property ids to run (the others are skipped);
 * - MODEL_ONLY: comma-separated invariants that fail the property (default all), to look
 *   past a known failure at what else the model finds;
 * - MODEL_STEPS: longest history, in steps (each property's own otherwise), for runs that
 *   look deeper; a failure's report names it, since replaying needs the same.
 */

function integer(name: string): number | undefined {
  const text = process.env[name]
  if (text === undefined || text === '') return undefined
  const value = Number(text)
  if (!Number.isInteger(value)) throw new Error(`${name} must be an integer, got '${text}'`)
  return value
}

function list(name: string): ReadonlySet<string> | undefined {
  const text = process.env[name]
  return text === undefined || text === '' ? undefined : new Set(text.split(',').map((s) => s.trim()))
}

/** The model's settings for this run. */
export interface ModelEnv {
  /** Histories for a property whose CI count is `ci`. */
  runs(ci: number): number
  /** Whether property `id` runs; an `explicit` one only when MODEL_PROPERTY names it. */
  selected(id: string, explicit?: boolean): boolean
  /** Test timeout for a property whose CI count is `ci`, at `msPerHistory`. */
  timeout(ci: number, msPerHistory: number): number
  readonly seed: number | undefined
  readonly path: string | undefined
  readonly only: ReadonlySet<string> | undefined
  /** Longest history, in steps, when MODEL_STEPS overrides the properties' own. */
  readonly steps: number | undefined
}

/** Reads the environment once. */
export function modelEnv(): ModelEnv {
  const runs = integer('MODEL_RUNS')
  const properties = list('MODEL_PROPERTY')
  return {
    runs: (ci) => runs ?? ci,
    selected: (id, explicit = false) => (properties === undefined ? !explicit : properties.has(id)),
    // Shrinking a failure replays histories too: leave room for it.
    timeout: (ci, ms) => 120_000 + (runs ?? ci) * ms * 2,
    seed: integer('MODEL_SEED'),
    path: process.env.MODEL_PATH || undefined,
    only: list('MODEL_ONLY'),
    steps: integer('MODEL_STEPS'),
  }
}

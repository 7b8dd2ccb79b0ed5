import { parseArgs } from 'node:util'

/** Command-line options of `pnpm bench`. */
export interface BenchOptions {
  /** Short run. */
  readonly quick: boolean
  /** Scenario names to run (all when empty). */
  readonly only: readonly string[]
  /** Also run the scale curves (long: many processes, up to a million entries). */
  readonly scale: boolean
  /** Print usage and exit. */
  readonly help: boolean
}

/** Usage text. */
export const usage = `usage: pnpm bench [-- [--quick] [--scale] [--only NAME[,NAME]]]
  --quick       short run (fewer samples, shorter tasks)
  --scale       also run the scale curves (2-16 instances, 10k-1M entries, region sizes)
  --only NAME   run only these scenarios (repeatable or comma-separated):
                memory-hit, distributed-hit, set, propagation, invalidation, memory-per-entry,
                connections, shared-propagation, otel-overhead, cold-key, scale-propagation,
                scale-memory, scale-clear-region`

/** A bad command line: printed without a stack. */
export class UsageError extends Error {}

/** Parses argv (a `--` separator from pnpm is ignored). */
export function parseBenchOptions(argv: readonly string[], known: readonly string[]): BenchOptions {
  let values: { quick?: boolean; scale?: boolean; only?: string[]; help?: boolean }
  try {
    values = parseArgs({
      args: argv.filter((arg) => arg !== '--'),
      options: {
        quick: { type: 'boolean', default: false },
        scale: { type: 'boolean', default: false },
        only: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${usage}`)
  }
  const only = (values.only ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '')
  for (const name of only) {
    if (!known.includes(name)) throw new UsageError(`unknown scenario '${name}'\n${usage}`)
  }
  return { quick: values.quick === true, scale: values.scale === true, only, help: values.help === true }
}

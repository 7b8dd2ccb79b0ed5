import { parseArgs } from 'node:util'

/** Command-line options of `pnpm bench`. */
export interface BenchOptions {
  /** Short run. */
  readonly quick: boolean
  /** Scenario names to run (all when empty). */
  readonly only: readonly string[]
  /** Print usage and exit. */
  readonly help: boolean
}

/** Usage text. */
export const usage = `usage: pnpm bench [-- [--quick] [--only NAME[,NAME]]]
  --quick       short run (fewer samples, shorter tasks)
  --only NAME   run only these scenarios (repeatable or comma-separated):
                memory-hit, distributed-hit, set, propagation, invalidation, memory-per-entry,
                otel-overhead`

/** A bad command line: printed without a stack. */
export class UsageError extends Error {}

/** Parses argv (a `--` separator from pnpm is ignored). */
export function parseBenchOptions(argv: readonly string[], known: readonly string[]): BenchOptions {
  let values: { quick?: boolean; only?: string[]; help?: boolean }
  try {
    values = parseArgs({
      args: argv.filter((arg) => arg !== '--'),
      options: {
        quick: { type: 'boolean', default: false },
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
  return { quick: values.quick === true, only, help: values.help === true }
}

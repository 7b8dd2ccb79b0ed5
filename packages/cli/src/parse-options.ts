import { type ParseArgsConfig, parseArgs } from 'node:util'
import { UsageError } from './cli-errors.js'

/** The option definitions of one command, in `node:util` parseArgs form. */
export type OptionSpec = NonNullable<ParseArgsConfig['options']>

/** Parsed values by option name: booleans for flags, strings otherwise (no `multiple` options). */
export type OptionValues<O extends OptionSpec> = {
  [K in keyof O]?: O[K] extends { type: 'boolean' } ? boolean : string
}

/** What {@link parseOptions} returns. */
export interface ParsedOptions<O extends OptionSpec> {
  /** Options given, by name. */
  readonly values: OptionValues<O>
  /** Arguments that are not options, in order. */
  readonly positionals: readonly string[]
}

/**
 * Strict parseArgs: unknown options, missing option values and (unless `positionals`
 * allows them) stray arguments become a UsageError instead of parseArgs' TypeError.
 */
export function parseOptions<O extends OptionSpec>(
  args: readonly string[],
  options: O,
  positionals: number,
): ParsedOptions<O> {
  let parsed: { values: object; positionals: string[] }
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true })
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify .*$/s, ''), { cause: error })
  }
  if (parsed.positionals.length > positionals) {
    const extra = parsed.positionals.slice(positionals).join(' ')
    throw new UsageError(
      `unexpected argument${parsed.positionals.length - positionals > 1 ? 's' : ''}: ${extra}`,
    )
  }
  // parseArgs' own result type is not exported by @types/node; this is its shape for our specs.
  return parsed as ParsedOptions<O>
}

/** Parses a positive integer option (`--count`, `--timeout-ms`); undefined when absent. */
export function positiveInteger(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined
  const number = Number(value)
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number <= 0) {
    throw new UsageError(`--${option} must be a positive integer, got '${value}'`)
  }
  return number
}

/** The one value of exactly one of `choices`, or a UsageError naming them. */
export function exactlyOne<K extends string>(
  values: Partial<Record<K, string | undefined>>,
  choices: readonly K[],
): { readonly kind: K; readonly value: string } {
  const given = choices.filter((choice) => values[choice] !== undefined)
  if (given.length !== 1) {
    const list = choices.map((choice) => `--${choice}`).join(' or ')
    throw new UsageError(given.length === 0 ? `give ${list}` : `give only one of ${list}`)
  }
  const kind = given[0]!
  return { kind, value: values[kind]! }
}

/** A required, non-empty string option. */
export function required(value: string | undefined, option: string): string {
  if (value === undefined || value === '') throw new UsageError(`--${option} is required`)
  return value
}

/** The worker's `load` command: getOrAdd with the resilience options, its factory calls counted per key. */
import type { CacheManager, GetOrAddOptions } from '@cacheplane/core'
import type { Command, LoadOptionsSpec, LoadResult, Value } from './protocol.js'

const factoryCalls = new Map<string, number>()

/** How many times `load` factories ran for `key` in this worker. */
export function factoryCallsOf(key: string): number {
  return factoryCalls.get(key) ?? 0
}

function options(spec: LoadOptionsSpec | undefined): GetOrAddOptions | undefined {
  if (spec === undefined) return undefined
  const { expiration, ...rest } = spec
  if (expiration === undefined) return rest
  return { ...rest, expiration: expiration.mode === 'none' ? { mode: 'none' } : { ...expiration } }
}

/** Runs a `load` command. */
export async function runLoad(
  cache: CacheManager<Value>,
  command: Extract<Command, { op: 'load' }>,
  onFactory: () => void = () => {},
): Promise<LoadResult> {
  const { key, value, factoryDelayMs, calls = 1, concurrent = false } = command
  const factory = async (): Promise<Value> => {
    factoryCalls.set(key, factoryCallsOf(key) + 1)
    onFactory()
    if (factoryDelayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, factoryDelayMs))
    if (command.factory === 'throw') throw new Error('the source is down (integration factory)')
    return value
  }
  const callOptions = options(command.options)
  const values: (Value | null)[] = []
  const errors: string[] = []
  const one = () =>
    cache.getOrAdd(key, factory, callOptions).then(
      (answer) => answer,
      (error: unknown) => {
        errors.push(error instanceof Error ? error.name : String(error))
        return null
      },
    )
  const started = performance.now()
  if (concurrent) values.push(...(await Promise.all(Array.from({ length: calls }, one))))
  else for (let i = 0; i < calls; i++) values.push(await one())
  return { values, errors, elapsedMs: performance.now() - started }
}

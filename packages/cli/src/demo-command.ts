/**
 * `cacheplane demo`: three application instances in this process, each with its own
 * memory layer in front of one shared store, synchronised by an in-process backplane.
 * It prints who wrote, who heard the invalidation and how long it took, and which layer
 * answered each read — and fails (exit 1) if any instance ever reads a stale value.
 */
import { inspect } from 'node:util'
import { CacheManager, type CacheEvents, createBackplaneHub, memoryBackplane } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { CliError, EXIT_CODES } from './cli-errors.js'
import type { CliIo } from './cli-io.js'
import { parseOptions } from './parse-options.js'

/** `cacheplane demo --help`. */
export const DEMO_USAGE = `Usage: cacheplane demo

Runs three instances (A, B, C) of an application in this process. Each has a memory
layer in front of a shared store, and a backplane tells the others which keys changed.
Prints who wrote, who was invalidated and how fast, and which layer answered each read.
No server needed. Exit code 0 when every read saw the latest value, 1 otherwise.`

/** How long an invalidation may take before the demo reports it as lost. */
const PROPAGATION_DEADLINE_MS = 5_000

interface Product {
  readonly name: string
  readonly price: number
}

/** One application instance of the demo. */
interface Instance {
  readonly name: string
  readonly cache: CacheManager<Product>
}

/** The instances of one demo run, its log and the stale reads seen so far. */
interface DemoRun {
  readonly instances: readonly Instance[]
  readonly log: (who: string, text: string) => void
  stale: number
}

/** Three instances, each a memory layer over one shared store, on one in-process backplane. */
function createInstances(shared: ReturnType<typeof memoryHandle>): Instance[] {
  const hub = createBackplaneHub()
  return ['A', 'B', 'C'].map((name) => ({
    name,
    cache: new CacheManager<Product>({
      name: 'products',
      handles: [memoryHandle({ name: 'memory' }), shared],
      shared: [shared],
      backplane: memoryBackplane({ hub }),
    }),
  }))
}

/** Resolves when the instance hears the remote `event` on `key` (logging how long it took), rejects after the deadline. */
function heardBy(
  run: DemoRun,
  { name, cache }: Instance,
  event: 'set' | 'remove',
  key: string,
  began: number,
) {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new CliError(`${name} never heard '${event} ${key}'`, EXIT_CODES.failed)),
      PROPAGATION_DEADLINE_MS,
    )
    const listener = (e: CacheEvents['set']) => {
      if (e.origin !== 'remote' || e.key !== key) return
      clearTimeout(timer)
      cache.off(event, listener)
      const after = (performance.now() - began).toFixed(2)
      run.log(name, `heard '${event} ${key}' ${after} ms after the write: dropped it from its memory layer`)
      resolve()
    }
    cache.on(event, listener)
  })
}

/** `writer` sets or removes `key`; resolves once every other instance heard of it. */
async function write(run: DemoRun, writer: Instance, event: 'set' | 'remove', key: string, value?: Product) {
  const began = performance.now()
  // Listening starts before the write so that no invalidation can arrive unheard.
  const heard = run.instances
    .filter((instance) => instance !== writer)
    .map((instance) => heardBy(run, instance, event, key, began))
  if (event === 'set') await writer.cache.set(key, value!)
  else await writer.cache.remove(key)
  run.log(writer.name, `${event} ${key}${value === undefined ? '' : ` = ${inspect(value)}`}`)
  await Promise.all(heard)
}

/** `reader` reads `key`, logs which layer answered, and counts the read if it was not `expected`. */
async function read(run: DemoRun, reader: Instance, key: string, expected: Product | undefined) {
  let layer = 'miss'
  const listener = (e: CacheEvents['get']) => {
    if (e.key === key) layer = e.handle === undefined ? 'nobody (a miss)' : `its ${e.handle} layer`
  }
  reader.cache.on('get', listener)
  const value = await reader.cache.get(key)
  reader.cache.off('get', listener)
  const fresh = inspect(value) === inspect(expected)
  if (!fresh) run.stale++
  run.log(reader.name, `get ${key} -> ${inspect(value)} answered by ${layer}${fresh ? '' : '  STALE!'}`)
}

/** The story the demo tells: a write read everywhere, an update, a remove. */
async function script(run: DemoRun): Promise<void> {
  const [a, b, c] = run.instances as [Instance, Instance, Instance]
  const lamp = { name: 'lamp', price: 10 }
  await write(run, a, 'set', 'product:42', lamp)
  await read(run, b, 'product:42', lamp)
  await read(run, b, 'product:42', lamp)
  await read(run, c, 'product:42', lamp)
  const cheaper = { name: 'lamp', price: 8 }
  await write(run, a, 'set', 'product:42', cheaper)
  await read(run, b, 'product:42', cheaper)
  await read(run, c, 'product:42', cheaper)
  await write(run, c, 'remove', 'product:42')
  await read(run, a, 'product:42', undefined)
  await read(run, b, 'product:42', undefined)
}

/** Runs `cacheplane demo`; resolves with the exit code. */
export async function demoCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseOptions(args, { help: { type: 'boolean', short: 'h' } }, 0)
  if (values.help === true) {
    io.out(DEMO_USAGE)
    return 0
  }
  const start = performance.now()
  const log = (who: string, text: string) =>
    io.out(`${(performance.now() - start).toFixed(2).padStart(8)} ms  ${who}  ${text}`)
  const shared = memoryHandle({ name: 'shared', distributed: true })
  const run: DemoRun = { instances: createInstances(shared), log, stale: 0 }
  try {
    await Promise.all(run.instances.map(({ cache }) => cache.ready()))
    io.out('3 instances (A, B, C) of cache "products": memory layer -> shared store, in-process backplane\n')
    await script(run)
  } finally {
    await Promise.all(run.instances.map(({ cache }) => cache.close()))
    shared.close()
  }
  io.out(run.stale === 0 ? '\nevery read saw the latest value' : `\n${run.stale} stale read(s)`)
  return run.stale === 0 ? EXIT_CODES.ok : EXIT_CODES.failed
}

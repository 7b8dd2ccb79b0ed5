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
  const hub = createBackplaneHub()
  const shared = memoryHandle({ name: 'shared', distributed: true })
  const instances = ['A', 'B', 'C'].map((name) => ({
    name,
    cache: new CacheManager<Product>({
      name: 'products',
      handles: [memoryHandle({ name: 'memory' }), shared],
      shared: [shared],
      backplane: memoryBackplane({ hub }),
    }),
  }))
  const [a, b, c] = instances as [(typeof instances)[0], (typeof instances)[0], (typeof instances)[0]]
  let stale = 0

  async function write(writer: typeof a, event: 'set' | 'remove', key: string, value?: Product) {
    const others = instances.filter((instance) => instance !== writer)
    const began = performance.now()
    const heard = others.map(
      ({ name, cache }) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new CliError(`${name} never heard '${event} ${key}'`, EXIT_CODES.failed)),
            PROPAGATION_DEADLINE_MS,
          )
          const listener = (e: CacheEvents['set']) => {
            if (e.origin !== 'remote' || e.key !== key) return
            clearTimeout(timer)
            cache.off(event, listener)
            const after = (performance.now() - began).toFixed(2)
            log(name, `heard '${event} ${key}' ${after} ms after the write: dropped it from its memory layer`)
            resolve()
          }
          cache.on(event, listener)
        }),
    )
    if (event === 'set') await writer.cache.set(key, value!)
    else await writer.cache.remove(key)
    log(writer.name, `${event} ${key}${value === undefined ? '' : ` = ${inspect(value)}`}`)
    await Promise.all(heard)
  }

  async function read(reader: typeof a, key: string, expected: Product | undefined) {
    let layer = 'miss'
    const listener = (e: CacheEvents['get']) => {
      if (e.key === key) layer = e.handle === undefined ? 'nobody (a miss)' : `its ${e.handle} layer`
    }
    reader.cache.on('get', listener)
    const value = await reader.cache.get(key)
    reader.cache.off('get', listener)
    const fresh = inspect(value) === inspect(expected)
    if (!fresh) stale++
    log(reader.name, `get ${key} -> ${inspect(value)} answered by ${layer}${fresh ? '' : '  STALE!'}`)
  }

  try {
    await Promise.all(instances.map(({ cache }) => cache.ready()))
    io.out('3 instances (A, B, C) of cache "products": memory layer -> shared store, in-process backplane\n')
    const lamp = { name: 'lamp', price: 10 }
    await write(a, 'set', 'product:42', lamp)
    await read(b, 'product:42', lamp)
    await read(b, 'product:42', lamp)
    await read(c, 'product:42', lamp)
    const cheaper = { name: 'lamp', price: 8 }
    await write(a, 'set', 'product:42', cheaper)
    await read(b, 'product:42', cheaper)
    await read(c, 'product:42', cheaper)
    await write(c, 'remove', 'product:42')
    await read(a, 'product:42', undefined)
    await read(b, 'product:42', undefined)
  } finally {
    await Promise.all(instances.map(({ cache }) => cache.close()))
    shared.close()
  }
  io.out(stale === 0 ? '\nevery read saw the latest value' : `\n${stale} stale read(s)`)
  return stale === 0 ? EXIT_CODES.ok : EXIT_CODES.failed
}

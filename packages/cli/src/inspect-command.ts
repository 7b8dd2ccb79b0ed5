/**
 * `cacheplane inspect`: reads one key through the same handle a CacheManager uses
 * (`redisHandle` / `memcachedHandle`, bound to the cache name), so key layout, region
 * escaping and Memcached generations are the application's, and prints its envelope.
 * It reads with the handle's `peek`, never `get`: an inspection must not change what it
 * inspects (a `get` extends a sliding item, and Memcached's drops unreadable bytes).
 */
import type { CacheHandle, StoredItem } from '@cacheplane/core'
import { memcachedHandle } from '@cacheplane/memcached'
import { redisHandle } from '@cacheplane/redis'
import { CliError, EXIT_CODES, UsageError } from './cli-errors.js'
import type { CliIo } from './cli-io.js'
import {
  closeRedis,
  connectMemcached,
  connectRedis,
  DEFAULT_CONNECT_TIMEOUT_MS,
  redactUrl,
} from './connections.js'
import { exactlyOne, parseOptions, positiveInteger, required } from './parse-options.js'
import { printable } from './printable.js'
import { previewValue, SERIALIZER_CHOICES, type SerializerChoice } from './value-preview.js'

/** `cacheplane inspect --help`. */
export const INSPECT_USAGE = `Usage: cacheplane inspect (--redis URL | --memcached SERVERS) --cache NAME KEY [options]

Shows the stored envelope of one key in a distributed store: expiration mode, TTL and
expiry time, creation time, version, value size and a preview of the decoded value.
It changes nothing: a sliding item is not extended, an unreadable item is left as it is.
(Memcached extends sliding items without rewriting them: their expiresAt is the one last
written, and the item may live longer.)

Options:
  --redis URL              Redis server (redis://host:port)
  --memcached SERVERS      Memcached servers (host:port[,host:port...])
  --cache NAME             cache name, as given to CacheManager({ name })
  --region R               the key's region
  --prefix P               key prefix of the handle (its 'prefix' option); default 'cacheplane:'
  --serializer S           decode the value as auto (by its format tag), json or v8; default auto
  --connect-timeout-ms MS  give up connecting after MS milliseconds; default ${DEFAULT_CONNECT_TIMEOUT_MS}
  -h, --help               show this help

Exit codes: 0 found, 1 key not found or unreadable, 2 server unreachable, 64 bad arguments.`

const OPTIONS = {
  redis: { type: 'string' },
  memcached: { type: 'string' },
  cache: { type: 'string' },
  region: { type: 'string' },
  prefix: { type: 'string' },
  serializer: { type: 'string' },
  'connect-timeout-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

/** A bound handle and how to release what the CLI opened for it. */
interface Opened {
  readonly handle: CacheHandle<Uint8Array> & Required<Pick<CacheHandle<Uint8Array>, 'peek'>>
  readonly where: string
  release(): Promise<void>
}

async function open(
  store: { kind: 'redis' | 'memcached'; value: string },
  prefix: string | undefined,
  timeoutMs: number,
): Promise<Opened> {
  if (store.kind === 'redis') {
    const client = await connectRedis(store.value, timeoutMs)
    const release = () => closeRedis(client)
    try {
      return { handle: redisHandle({ client, prefix }), where: `Redis ${redactUrl(store.value)}`, release }
    } catch (error) {
      await release()
      throw error
    }
  }
  const client = await connectMemcached(store.value, timeoutMs)
  const release = async () => client.close()
  try {
    return { handle: memcachedHandle({ client, prefix }), where: `Memcached ${store.value}`, release }
  } catch (error) {
    await release()
    throw error
  }
}

function time(ms: number, now: number): string {
  const delta = ms - now
  const amount =
    Math.abs(delta) < 10_000 ? `${Math.abs(delta)} ms` : `${(Math.abs(delta) / 1000).toFixed(1)} s`
  return `${new Date(ms).toISOString()} (${delta >= 0 ? `in ${amount}` : `${amount} ago`})`
}

/** The envelope of one item as aligned `label value` lines. */
export function describeItem(item: StoredItem<Uint8Array>, choice: SerializerChoice, now: number): string[] {
  const lines = [`mode       ${item.mode}`]
  if (item.mode !== 'none') {
    lines.push(`ttl        ${item.ttl} ms`)
    lines.push(`expiresAt  ${time(item.expiresAt, now)}`)
  }
  lines.push(`created    ${time(item.created, now)}`)
  lines.push(`version    ${item.version}`)
  const preview = previewValue(item.value, choice)
  lines.push(`size       ${item.value.byteLength} bytes (serialized value, format ${preview.format})`)
  if (preview.ok && preview.tags !== undefined)
    lines.push(`tags       ${preview.tags.map((tag) => JSON.stringify(tag)).join(', ')}`)
  lines.push(preview.ok ? `value      ${preview.text}` : `value      (cannot decode: ${preview.reason})`)
  return lines
}

/** Runs `cacheplane inspect`; resolves with the exit code. */
export async function inspectCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseOptions(args, OPTIONS, 1)
  if (values.help === true) {
    io.out(INSPECT_USAGE)
    return 0
  }
  const store = exactlyOne(values, ['redis', 'memcached'])
  const cache = required(values.cache, 'cache')
  const key = positionals[0]
  if (key === undefined) throw new UsageError('give the KEY to inspect')
  const choice = (values.serializer ?? 'auto') as SerializerChoice
  if (!SERIALIZER_CHOICES.includes(choice)) {
    throw new UsageError(`--serializer must be one of ${SERIALIZER_CHOICES.join(', ')}, got '${choice}'`)
  }
  const connectTimeoutMs =
    positiveInteger(values['connect-timeout-ms'], 'connect-timeout-ms') ?? DEFAULT_CONNECT_TIMEOUT_MS
  const region = values.region

  const opened = await open(store, values.prefix, connectTimeoutMs)
  let item: StoredItem<Uint8Array> | undefined
  try {
    await opened.handle.bind?.(cache)
    item = await opened.handle.peek(key, region)
  } catch (error) {
    throw new CliError(
      `cannot read ${printable(key)} on ${opened.where}: ${(error as Error).message}`,
      EXIT_CODES.failed,
      {
        cause: error,
      },
    )
  } finally {
    await opened.handle.close()
    await opened.release()
  }
  const where = `${region === undefined ? '' : `region ${printable(region)} of `}cache ${printable(cache)} on ${opened.where}`
  if (item === undefined) {
    io.err(`key ${printable(key)} not found in ${where}`)
    return EXIT_CODES.failed
  }
  io.out(`key ${printable(key)} in ${where}`)
  for (const line of describeItem(item, choice, Date.now())) io.out(line)
  return EXIT_CODES.ok
}

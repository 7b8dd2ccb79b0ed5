/**
 * `cacheplane watch`: subscribes to one cache's backplane channel through the same
 * adapter backplane a CacheManager uses (so channel naming, NATS subject escaping and
 * Redis sharded pub/sub are exactly the application's) and prints every frame live.
 */
import type { Backplane } from '@cacheplane/core'
import { natsBackplane } from '@cacheplane/nats'
import { redisBackplane } from '@cacheplane/redis'
import { UnreachableError } from './cli-errors.js'
import type { CliIo } from './cli-io.js'
import {
  closeRedis,
  connectNats,
  connectRedis,
  DEFAULT_CONNECT_TIMEOUT_MS,
  redactUrl,
} from './connections.js'
import { FramePrinter } from './frame-printer.js'
import { exactlyOne, parseOptions, positiveInteger, required } from './parse-options.js'

/** `cacheplane watch --help`. */
export const WATCH_USAGE = `Usage: cacheplane watch (--redis URL | --nats URL) --cache NAME [options]

Prints every frame on a cache's backplane channel as it arrives: time, sender id,
message (changed:<add|set|update|expire>, removed, cleared, regionCleared), region, key.
Frames that fail to decode or verify are flagged with their error code
(E_FRAME_INVALID, E_FRAME_SIGNATURE); gaps and connection changes are printed too.

Options:
  --redis URL              Redis server (redis://host:port)
  --nats URL               NATS server (nats://host:port)
  --cache NAME             cache name, as given to CacheManager({ name })
  --prefix P               channel prefix (CacheManager channelPrefix); default 'cacheplane:'
  --subject-prefix P       NATS subject prefix (natsBackplane prefix); default 'cacheplane.'
  --secret S               verify frame signatures with this shared secret
  --count N                exit after N frames
  --timeout-ms MS          exit after MS milliseconds
  --connect-timeout-ms MS  give up connecting after MS milliseconds; default ${DEFAULT_CONNECT_TIMEOUT_MS}
  -h, --help               show this help

Ctrl-C stops watching. Exit codes: 0 done, 2 server unreachable, 64 bad arguments.`

const OPTIONS = {
  redis: { type: 'string' },
  nats: { type: 'string' },
  cache: { type: 'string' },
  prefix: { type: 'string' },
  'subject-prefix': { type: 'string' },
  secret: { type: 'string' },
  count: { type: 'string' },
  'timeout-ms': { type: 'string' },
  'connect-timeout-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

/** A subscription and how to release it. */
interface Opened {
  readonly backplane: Backplane
  readonly where: string
  release(): Promise<void>
}

async function open(
  server: { kind: 'redis' | 'nats'; value: string },
  subjectPrefix: string | undefined,
  timeoutMs: number,
): Promise<Opened> {
  if (server.kind === 'redis') {
    const client = await connectRedis(server.value, timeoutMs)
    return {
      backplane: redisBackplane({ client, name: 'watch' }),
      where: `Redis ${redactUrl(server.value)}`,
      release: () => closeRedis(client),
    }
  }
  const connection = await connectNats(server.value, timeoutMs)
  try {
    return {
      backplane: natsBackplane({ client: connection, name: 'watch', prefix: subjectPrefix }),
      where: `NATS ${redactUrl(server.value)}`,
      release: () => connection.close(),
    }
  } catch (error) {
    await connection.close()
    throw error
  }
}

/** A promise that resolves once `stop` is called, and whether it was. */
function stopSignal() {
  let resolveStopped: () => void = () => {}
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve
  })
  const signal = {
    finished: false,
    stopped,
    stop: (): void => {
      signal.finished = true
      resolveStopped()
    },
  }
  return signal
}

type StopSignal = ReturnType<typeof stopSignal>

/**
 * Subscribes the printer to `channel`; stops after `count` frames. A failure to subscribe
 * is the server being unreachable for the user.
 */
async function subscribe(
  opened: Opened,
  channel: string,
  printer: FramePrinter,
  count: number | undefined,
  signal: StopSignal,
): Promise<void> {
  let subscribed = false
  try {
    const subscription = opened.backplane.connect(channel, {
      onFrame(frame) {
        // Frames still arriving while the subscription closes would overshoot --count.
        if (signal.finished) return
        printer.frame(frame)
        if (count !== undefined && printer.tally.valid + printer.tally.invalid >= count) signal.stop()
      },
      onGap: (gap) => printer.gap(gap),
      // The 'watching' line reports the first connection; later changes are news.
      onState(state) {
        if (subscribed) printer.state(state)
      },
    })
    await subscription.ready
    subscribed = true
  } catch (error) {
    throw new UnreachableError(
      `cannot subscribe to '${channel}' on ${opened.where}: ${(error as Error).message}`,
      {
        cause: error,
      },
    )
  }
}

/** Waits for `--timeout-ms`, Ctrl-C or the `--count`th frame, whichever comes first. */
async function untilStopped(io: CliIo, signal: StopSignal, timeoutMs: number | undefined): Promise<void> {
  const timer = timeoutMs === undefined ? undefined : setTimeout(signal.stop, timeoutMs)
  io.signal?.addEventListener('abort', signal.stop, { once: true })
  // Ctrl-C pressed while connecting: the listener came too late to hear it.
  if (io.signal?.aborted === true) signal.stop()
  await signal.stopped
  clearTimeout(timer)
  io.signal?.removeEventListener('abort', signal.stop)
}

/** Runs `cacheplane watch`; resolves with the exit code once stopped. */
export async function watchCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseOptions(args, OPTIONS, 0)
  if (values.help === true) {
    io.out(WATCH_USAGE)
    return 0
  }
  const server = exactlyOne(values, ['redis', 'nats'])
  const channel = (values.prefix ?? 'cacheplane:') + required(values.cache, 'cache')
  const count = positiveInteger(values.count, 'count')
  const timeoutMs = positiveInteger(values['timeout-ms'], 'timeout-ms')
  const connectTimeoutMs =
    positiveInteger(values['connect-timeout-ms'], 'connect-timeout-ms') ?? DEFAULT_CONNECT_TIMEOUT_MS
  if (io.signal?.aborted === true) return 0

  const opened = await open(server, values['subject-prefix'], connectTimeoutMs)
  const printer = new FramePrinter(io.out, values.secret)
  const signal = stopSignal()
  try {
    await subscribe(opened, channel, printer, count, signal)
    const verifying = values.secret === undefined ? '' : ' (verifying signatures)'
    io.out(`watching '${channel}' on ${opened.where}${verifying}`)
    await untilStopped(io, signal, timeoutMs)
  } finally {
    await opened.backplane.close()
    await opened.release()
  }
  const { valid, invalid, gaps } = printer.tally
  io.out(
    `stopped: ${valid} frame${valid === 1 ? '' : 's'}, ${invalid} invalid, ${gaps} gap${gaps === 1 ? '' : 's'}`,
  )
  return 0
}

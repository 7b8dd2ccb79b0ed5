/**
 * A worker process: builds one `CacheManager` from the spec the test sends, runs the commands it
 * receives over IPC and forwards the manager's events. It exits when the test process goes away.
 */
import type { CacheEvents, CacheManager, Expiration } from '@cacheplane/core'
import type {
  Command,
  ExpirationSpec,
  Reply,
  Request,
  Value,
  WorkerEvent,
  WorkerMessage,
} from './protocol.js'
import { runCacheManagerCall } from './cache-manager-calls.js'
import { factoryCallsOf, runLoad } from './load-command.js'
import { InvalidationLog, runSoak } from './soak.js'
import { buildManagers, releaseSubscription } from './topology.js'
import { reAddLoop, release, slowUpdate, slowUpdateLoop } from './update-race.js'
import { isTagCommand, runTagCommand } from './tag-commands.js'

let cache: CacheManager<Value> | undefined
/** Every cache of this worker by name (the first is `cache`); they share one backplane. */
const caches = new Map<string, CacheManager<Value>>()
let workerId = `pid-${process.pid}`
/** Off while a soak runs: forwarding thousands of events would measure IPC, not the cache. */
let forwarding = true
const invalidations = new InvalidationLog()

function send(message: WorkerMessage, then?: () => void): void {
  if (!process.connected) return
  process.send?.(message, undefined, {}, () => then?.())
}

function forward(event: Omit<WorkerEvent, 'type' | 'at'>, from?: CacheManager<Value>): void {
  // The cache is named only when the worker runs several: the single-cache events stay as they were.
  const cacheName = from !== undefined && caches.size > 1 ? { cache: from.name } : {}
  if (forwarding) send({ type: 'event', at: Date.now(), ...event, ...cacheName })
}

const KEY_EVENTS = ['add', 'set', 'update', 'expire', 'remove'] as const

function listen(manager: CacheManager<Value>): void {
  for (const name of KEY_EVENTS) {
    manager.on(name, (event: CacheEvents[typeof name]) => {
      if (event.origin === 'remote') invalidations.record(event.key)
      forward({ name, origin: event.origin, key: event.key, region: event.region }, manager)
    })
  }
  manager.on('clear', (event) => {
    if (event.origin === 'remote') invalidations.record(undefined)
    forward({ name: 'clear', origin: event.origin })
  })
  manager.on('clearRegion', (event) => {
    // Soak keys have no region; a region clear never invalidates them.
    forward({ name: 'clearRegion', origin: event.origin, region: event.region })
  })
  manager.on('backplane', (event) => {
    if (event.type === 'gap') {
      if (event.action === 'cleared') invalidations.record(undefined)
      forward({ name: 'backplane', detail: 'gap', action: event.action }, manager)
    } else {
      forward({ name: 'backplane', detail: 'state', action: event.state }, manager)
    }
  })
  manager.on('error', (event) => {
    forward({
      name: 'error',
      detail: event.operation,
      action: event.error.name,
      message: describeError(event.error),
      ...(event.handle === undefined ? {} : { region: event.handle }),
    })
  })
  manager.on('removeByTag', (event) =>
    forward({ name: 'removeByTag', origin: event.origin, detail: event.tag }),
  )
  manager.on('evict', (event) => forward({ name: 'evict', key: event.key, detail: event.reason }))
  for (const name of ['failSafe', 'factoryTimeout', 'eagerRefresh'] as const) {
    manager.on(name, (event) => forward({ name, key: event.key, detail: event.reason }))
  }
  manager.on('distributedLock', (event) => {
    const key = event.type === 'unsupported' ? undefined : event.key
    const action = event.type === 'woken' || event.type === 'unsupported' ? event.reason : undefined
    forward({ name: 'distributedLock', key, detail: event.type, action })
  })
}

function expiration(spec: ExpirationSpec): Expiration {
  return spec.mode === 'none' ? { mode: 'none' } : { mode: spec.mode, ttl: spec.ttl }
}

function manager(name?: string): CacheManager<Value> {
  const found = name === undefined ? cache : caches.get(name)
  if (found === undefined)
    throw new Error(name === undefined ? 'worker: send init first' : `worker: no cache '${name}'`)
  return found
}

async function run(command: Command): Promise<unknown> {
  switch (command.op) {
    case 'init': {
      workerId = command.spec.workerId
      const built = buildManagers(command.spec)
      for (const each of built) caches.set(each.name, each)
      cache = built[0]
      for (const each of built) listen(each)
      if (command.waitReady !== false) await Promise.all(built.map((each) => each.ready()))
      return workerId
    }
    case 'ping':
      return process.pid
    case 'releaseSubscription':
      releaseSubscription()
      return null
    case 'get': {
      const startedAt = Date.now()
      const item = await manager(command.cache).getItem(command.key, {
        region: command.region,
        allowStale: command.allowStale,
      })
      if (item === undefined) return null
      const { value, level, mode, expiresAt, stale } = item
      return { value, level, mode, expiresAt, startedAt, stale }
    }
    case 'set':
      await manager(command.cache).set(command.key, command.value, {
        region: command.region,
        expiration: command.expiration === undefined ? undefined : expiration(command.expiration),
      })
      // The ack time in this process's clock (the staleness checker compares it with other processes').
      return Date.now()
    case 'add':
      return manager().add(command.key, command.value, { region: command.region })
    case 'bump':
      return manager().update(command.key, (old) => ({ v: old.v + 1, by: workerId }), {
        region: command.region,
      })
    case 'remove':
      return manager().remove(command.key, { region: command.region })
    case 'expire':
      return manager().expire(command.key, expiration(command.expiration), { region: command.region })
    case 'clear':
      await manager().clear()
      return null
    case 'clearRegion':
      await manager().clearRegion(command.region)
      return null
    case 'stats':
      return manager().stats()
    case 'cacheManager':
      return runCacheManagerCall(manager(), command.call)
    case 'close':
      await manager().close()
      return null
    default:
      return runLoopCommand(command)
  }
}

/** Commands that run loads, loops and factories (concurrent writers, soak, the cluster lock). */
async function runLoopCommand(command: Command): Promise<unknown> {
  switch (command.op) {
    case 'bumpLoop': {
      let last: Value | undefined
      for (let i = 0; i < command.count; i++) {
        last = await manager().update(command.key, (old) => ({ v: old.v + 1, by: workerId }), {
          maxRetries: 1_000,
        })
      }
      return last ?? null
    }
    case 'setLoop': {
      let round = 0
      while (Date.now() < command.until) {
        round++
        await Promise.all(command.keys.map((key) => manager().set(key, { v: round, by: workerId })))
      }
      return round
    }
    case 'getOrAdd':
      return manager().getOrAdd(command.key, async () => {
        if (command.factoryDelayMs !== undefined) {
          await new Promise((resolve) => setTimeout(resolve, command.factoryDelayMs))
        }
        return command.value
      })
    case 'load':
      // The event lets a test kill the process whose factory is running (the lock holder).
      return runLoad(manager(), command, () => forward({ name: 'factory', key: command.key }))
    case 'factoryCalls':
      return factoryCallsOf(command.key)
    case 'soak': {
      forwarding = false
      try {
        return await runSoak(manager(), workerId, command.options, invalidations)
      } finally {
        forwarding = true
      }
    }
    case 'setThenDie':
      // Handled in onRequest: the process dies right after the reply is on its way.
      await manager().set(command.key, command.value)
      return null
    default:
      return runUpdateRace(command)
  }
}

/** The commands of `test/update-aba.test.ts` (see update-race.ts). */
async function runUpdateRace(command: Command): Promise<unknown> {
  switch (command.op) {
    case 'heldUpdate': {
      const { key, add, gate } = command
      const onRead = (read: Value) => forward({ name: 'updateRead', key, detail: JSON.stringify(read) })
      return (await slowUpdate(manager(), key, { add, delayMs: 0, gate }, onRead)).value
    }
    case 'release':
      return release(command.gate)
    case 'slowUpdateLoop':
      return slowUpdateLoop(manager(), command.key, command.durationMs, command.delayMs)
    case 'reAddLoop':
      return reAddLoop(manager(), command.key, workerId, command.durationMs, command.pauseMs)
    default:
      if (isTagCommand(command)) return runTagCommand(manager(), command, workerId)
      throw new Error(`worker: unknown command ${command.op}`)
  }
}

/** The message with its chain of causes (a handle's raw error is the `cause` of core's error). */
function describeError(error: unknown): string {
  const parts: string[] = []
  let current: unknown = error
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    parts.push(current instanceof Error ? `${current.name}: ${current.message}` : String(current))
    current = current instanceof Error ? current.cause : undefined
  }
  return parts.join(' <- caused by ')
}

async function onRequest(request: Request): Promise<void> {
  let reply: Reply
  try {
    reply = { type: 'reply', id: request.id, ok: true, result: await run(request) }
  } catch (error) {
    const { name } = error instanceof Error ? error : new Error(String(error))
    reply = { type: 'reply', id: request.id, ok: false, error: { name, message: describeError(error) } }
  }
  // A writer killed right after its write: the frame announcing it may or may not have left.
  const die = request.op === 'setThenDie' && reply.ok ? () => process.kill(process.pid, 'SIGKILL') : undefined
  send(reply, die)
}

process.on('message', (request: Request) => void onRequest(request))
// The test process is gone (or killed us from its side): never outlive it.
process.on('disconnect', () => process.exit(0))
process.on('uncaughtException', (error) => {
  send({ type: 'event', name: 'crash', message: String(error?.stack ?? error), at: Date.now() })
  setTimeout(() => process.exit(70), 100)
})

/**
 * One application instance of the demo, seen from the coordinator: the same calls
 * whether the instance lives in this process or in a worker process (IPC).
 */
import { type ChildProcess, fork } from 'node:child_process'
import type { CacheManager, GetOrAddOptions } from '@cacheplane/core'
import { outageOf } from './outage.js'

/** A read and the layer that answered it. */
export interface ReadResult {
  readonly value: unknown
  /** Handle name that answered, or `miss`. */
  readonly answeredBy: string
}

/** What a getOrAdd answered, and how. */
export interface LoadResult {
  readonly value: unknown
  /** The factory ran (it returns the command's value). */
  readonly factoryCalled: boolean
  /** Why a graced value was served instead, if it was. */
  readonly failSafe: string | undefined
}

/** A change another instance made, as this instance heard it. */
export interface Heard {
  readonly instance: string
  readonly event: string
  readonly key: string | undefined
  readonly region: string | undefined
  /** Wall-clock time it was heard, ms since the epoch with sub-ms precision. */
  readonly at: number
}

/** What the scenario can ask an instance to do. */
export interface DemoInstance {
  readonly name: string
  set(key: string, value: unknown, region?: string): Promise<void>
  get(key: string, region?: string): Promise<ReadResult>
  update(key: string, field: string, value: unknown): Promise<void>
  remove(key: string, region?: string): Promise<void>
  clearRegion(region: string): Promise<void>
  /** getOrAdd whose factory returns `value`, with the demo's short lifetime, grace and throttle. */
  getOrAdd(key: string, value: unknown): Promise<LoadResult>
  /** Cuts (`true`) or restores this instance's connection to the shared store. */
  outage(down: boolean): Promise<void>
  close(): Promise<void>
}

/** Commands a worker accepts, and what it answers. */
export type Command =
  | {
      readonly id: number
      readonly op: 'set'
      readonly key: string
      readonly value: unknown
      readonly region?: string
    }
  | { readonly id: number; readonly op: 'get'; readonly key: string; readonly region?: string }
  | {
      readonly id: number
      readonly op: 'update'
      readonly key: string
      readonly field: string
      readonly value: unknown
    }
  | { readonly id: number; readonly op: 'remove'; readonly key: string; readonly region?: string }
  | { readonly id: number; readonly op: 'clearRegion'; readonly region: string }
  | { readonly id: number; readonly op: 'getOrAdd'; readonly key: string; readonly value: unknown }
  | { readonly id: number; readonly op: 'outage'; readonly down: boolean }
  | { readonly id: number; readonly op: 'close' }

/** A command before it is numbered. */
type Unnumbered<C> = C extends Command ? Omit<C, 'id'> : never

/** Messages a worker sends: replies, and what it heard. */
export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'reply'; readonly id: number; readonly result?: unknown; readonly error?: string }
  | { readonly type: 'heard'; readonly heard: Heard }

/** Now as epoch ms with sub-ms precision, comparable across processes of one machine. */
export function now(): number {
  return performance.timeOrigin + performance.now()
}

/** Runs one command against a cache; shared by the in-process instance and the worker. */
export async function execute(cache: CacheManager, command: Command): Promise<unknown> {
  switch (command.op) {
    case 'set':
      return cache.set(command.key, command.value, { region: command.region })
    case 'get': {
      let answeredBy = 'miss'
      const onGet = (e: { key: string; handle: string | undefined }) => {
        if (e.key === command.key) answeredBy = e.handle ?? 'miss'
      }
      cache.on('get', onGet)
      try {
        const value = await cache.get(command.key, { region: command.region })
        return { value, answeredBy } satisfies ReadResult
      } finally {
        cache.off('get', onGet)
      }
    }
    case 'update':
      await cache.update(command.key, (old) => ({ ...(old as object), [command.field]: command.value }))
      return undefined
    case 'remove':
      return cache.remove(command.key, { region: command.region })
    case 'clearRegion':
      return cache.clearRegion(command.region)
    case 'getOrAdd':
      return load(cache, command.key, command.value)
    case 'outage':
      outageOf(cache).down = command.down
      return undefined
    case 'close':
      return cache.close()
  }
}

/**
 * The demo's resilience options: fresh for 1 s (Memcached keeps whole seconds), then graced
 * for a minute; a failure throttles the source for 500 ms.
 */
export const LOAD_OPTIONS: GetOrAddOptions = {
  expiration: { mode: 'absolute', ttl: 1_000 },
  grace: 60_000,
  failSafeThrottleMs: 500,
}

async function load(cache: CacheManager, key: string, value: unknown): Promise<LoadResult> {
  let failSafe: string | undefined
  const onFailSafe = (e: { key: string; reason: string }) => {
    if (e.key === key) failSafe = e.reason
  }
  let factoryCalled = false
  cache.on('failSafe', onFailSafe)
  try {
    const answer = await cache.getOrAdd(
      key,
      () => {
        factoryCalled = true
        return value
      },
      LOAD_OPTIONS,
    )
    return { value: answer, factoryCalled, failSafe } satisfies LoadResult
  } finally {
    cache.off('failSafe', onFailSafe)
  }
}

/** Reports every remote change the cache hears. */
export function listenRemote(name: string, cache: CacheManager, onHeard: (heard: Heard) => void): void {
  for (const event of ['add', 'set', 'update', 'expire', 'remove'] as const) {
    cache.on(event, (e) => {
      if (e.origin === 'remote') onHeard({ instance: name, event, key: e.key, region: e.region, at: now() })
    })
  }
  cache.on('clearRegion', (e) => {
    if (e.origin === 'remote')
      onHeard({ instance: name, event: 'clearRegion', key: undefined, region: e.region, at: now() })
  })
  cache.on('clear', (e) => {
    if (e.origin === 'remote')
      onHeard({ instance: name, event: 'clear', key: undefined, region: undefined, at: now() })
  })
}

/** An instance living in this process. */
export function localInstance(
  name: string,
  cache: CacheManager,
  onHeard: (heard: Heard) => void,
): DemoInstance {
  listenRemote(name, cache, onHeard)
  let id = 0
  const run = (command: Unnumbered<Command>) => execute(cache, { ...command, id: ++id } as Command)
  return commandsOf(name, run)
}

/** An instance in a worker process, driven over IPC. */
export async function workerInstance(
  name: string,
  workerPath: string,
  args: readonly string[],
  onHeard: (heard: Heard) => void,
): Promise<DemoInstance> {
  const child: ChildProcess = fork(workerPath, [name, ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  let id = 0
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) =>
      reject(new Error(`instance ${name} exited with code ${code} before it was ready`)),
    )
    child.on('message', (message: WorkerMessage) => {
      if (message.type === 'ready') resolve()
      else if (message.type === 'heard') onHeard(message.heard)
      else {
        const call = pending.get(message.id)
        pending.delete(message.id)
        if (message.error === undefined) call?.resolve(message.result)
        else call?.reject(new Error(`${name}: ${message.error}`))
      }
    })
  })
  child.on('exit', () => {
    for (const call of pending.values()) call.reject(new Error(`instance ${name} exited`))
    pending.clear()
  })
  await ready
  const run = (command: Unnumbered<Command>) =>
    new Promise<unknown>((resolve, reject) => {
      const next = ++id
      pending.set(next, { resolve, reject })
      child.send({ ...command, id: next })
    })
  const commands = commandsOf(name, run)
  return {
    ...commands,
    async close() {
      await commands.close()
      child.disconnect()
    },
  }
}

function commandsOf(name: string, run: (command: Unnumbered<Command>) => Promise<unknown>): DemoInstance {
  return {
    name,
    set: async (key, value, region) => void (await run({ op: 'set', key, value, region })),
    get: async (key, region) => (await run({ op: 'get', key, region })) as ReadResult,
    update: async (key, field, value) => void (await run({ op: 'update', key, field, value })),
    remove: async (key, region) => void (await run({ op: 'remove', key, region })),
    clearRegion: async (region) => void (await run({ op: 'clearRegion', region })),
    getOrAdd: async (key, value) => (await run({ op: 'getOrAdd', key, value })) as LoadResult,
    outage: async (down) => void (await run({ op: 'outage', down })),
    close: async () => void (await run({ op: 'close' })),
  }
}

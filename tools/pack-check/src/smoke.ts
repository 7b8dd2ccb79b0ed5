/**
 * Runs inside the scratch project, against the installed tarballs (never the workspace):
 * imports every entry point and does a real get/set round trip through memory handles
 * and the in-process backplane. Prints one line per check; exits 1 on the first failure.
 */
import * as core from '@cacheplane/core'
import * as testing from '@cacheplane/core/testing'
import * as keyvBridge from '@cacheplane/keyv'
import * as memcached from '@cacheplane/memcached'
import * as memory from '@cacheplane/memory'
import * as nats from '@cacheplane/nats'
import * as opentelemetry from '@cacheplane/opentelemetry'
import * as redis from '@cacheplane/redis'
import Keyv from 'keyv'

const DEADLINE_MS = 5_000

function check(what: string, ok: boolean, detail = ''): void {
  if (!ok) throw new Error(`${what}${detail === '' ? '' : `: ${detail}`}`)
  console.log(`  ok  ${what}`)
}

function exportsFunctions(entry: string, module: object, names: readonly string[]): void {
  const missing = names.filter((name) => typeof (module as Record<string, unknown>)[name] !== 'function')
  check(`${entry} exports ${names.join(', ')}`, missing.length === 0, `missing ${missing.join(', ')}`)
}

async function roundTrip(): Promise<void> {
  const hub = core.createBackplaneHub()
  const shared = memory.memoryHandle({ name: 'shared', distributed: true })
  const make = () =>
    new core.CacheManager<{ price: number }>({
      name: 'pack-check',
      handles: [memory.memoryHandle(), shared],
      shared: [shared],
      backplane: core.memoryBackplane({ hub }),
    })
  const a = make()
  const b = make()
  try {
    await Promise.all([a.ready(), b.ready()])
    await a.set('p', { price: 10 })
    check('B reads what A wrote', (await b.get('p'))?.price === 10)
    // B now holds a copy in its memory layer; A's next write must evict it through the backplane.
    const heard = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('B never heard A’s set')), DEADLINE_MS)
      b.on('set', (event) => {
        if (event.origin === 'remote' && event.key === 'p') {
          clearTimeout(timer)
          resolve()
        }
      })
    })
    await a.set('p', { price: 8 })
    await heard
    check('B hears A’s set on the in-process backplane', true)
    check('B reads the new value, not its stale copy', (await b.get('p'))?.price === 8)
  } finally {
    await Promise.all([a.close(), b.close()])
    shared.close()
  }
}

/** A Keyv store (a Map) as a layer under memory, and the manager as a Keyv store, both ways round. */
async function keyvRoundTrip(): Promise<void> {
  const manager = new core.CacheManager({
    name: 'pack-check-keyv',
    handles: [memory.memoryHandle(), keyvBridge.keyvHandle({ store: new Map() })],
  })
  try {
    const keyv = new Keyv({ store: keyvBridge.keyvStore(manager) })
    await keyv.set('k', { n: 1 })
    check('Keyv over keyvStore reads what it wrote', (await keyv.get<{ n: number }>('k'))?.n === 1)
    // Keyv prefixes its keys with the namespace, which keyvStore also makes the region.
    check(
      'the manager holds it in the Keyv namespace',
      (await manager.has('keyv:k', { region: 'keyv' })) === true,
    )
  } finally {
    await manager.close()
  }
}

/** The instrumentation over the API's no-op providers (no SDK installed): it must load, trace and stop. */
async function instrumented(): Promise<void> {
  const cache = new core.CacheManager<number>({ name: 'pack-check-otel', handles: [memory.memoryHandle()] })
  const instrumentation = opentelemetry.cacheInstrumentation({ caches: [cache] })
  try {
    await cache.set('k', 1)
    check('an instrumented cache reads what it wrote', (await cache.get('k')) === 1)
  } finally {
    instrumentation.disable()
    await cache.close()
  }
}

try {
  exportsFunctions('@cacheplane/core', core, [
    'CacheManager',
    'createBackplaneHub',
    'encodeFrame',
    'decodeFrame',
  ])
  exportsFunctions('@cacheplane/core/testing', testing, ['describeCacheHandle', 'describeBackplane'])
  exportsFunctions('@cacheplane/memory', memory, ['memoryHandle'])
  exportsFunctions('@cacheplane/redis', redis, ['redisHandle', 'redisBackplane'])
  exportsFunctions('@cacheplane/memcached', memcached, ['memcachedHandle'])
  exportsFunctions('@cacheplane/nats', nats, ['natsBackplane'])
  exportsFunctions('@cacheplane/keyv', keyvBridge, ['keyvHandle', 'keyvStore'])
  exportsFunctions('@cacheplane/opentelemetry', opentelemetry, ['cacheInstrumentation'])
  await roundTrip()
  await keyvRoundTrip()
  await instrumented()
} catch (error) {
  console.error(`  FAILED  ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
}

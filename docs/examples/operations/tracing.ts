import { channel, tracingChannel } from 'node:diagnostics_channel'
import { CacheManager, type TopHit } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'

/** The fields of core's TraceContext (src/tracing.ts) this subscriber reads. */
interface Traced {
  readonly operation: string
  readonly cache: string
  readonly key: string | undefined
}

export async function main() {
  const spans: Array<{ name: string; ns: bigint }> = []
  const started = new WeakMap<object, bigint>()
  const handlers = {
    start: (context: Traced) => started.set(context, process.hrtime.bigint()),
    // asyncEnd fires when the returned promise settles, error before it when it rejects.
    asyncEnd: (context: Traced) => {
      const ns = process.hrtime.bigint() - (started.get(context) ?? 0n)
      spans.push({ name: `${context.cache} ${context.operation} ${context.key}`, ns }) // to your APM
    },
    error: () => {},
    end: () => {},
    asyncStart: () => {},
  }
  const channels = ['get', 'set', 'getOrAdd'].map((op) => tracingChannel<Traced>(`cacheplane.${op}`))
  for (const traced of channels) traced.subscribe(handlers)
  // Memory hits are not traced: one message each here, while someone subscribes.
  const topHits = channel('cacheplane.topHit')
  const onTopHit = (message: unknown) => {
    const hit = message as TopHit
    spans.push({ name: `${hit.cache} ${hit.operation} ${hit.key} (memory hit)`, ns: 0n })
  }
  topHits.subscribe(onTopHit)

  const cache = new CacheManager<number>({ name: 'traced', handles: [memoryHandle()] })
  await cache.set('a', 1)
  await cache.get('a') // a memory hit: on cacheplane.topHit
  await cache.get('b') // a miss: traced on cacheplane.get
  await cache.has('a') // not subscribed to cacheplane.has: costs one property read

  for (const traced of channels) traced.unsubscribe(handlers)
  topHits.unsubscribe(onTopHit)
  await cache.close()
  return spans
}

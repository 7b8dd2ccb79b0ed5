/**
 * Starting an operation of a history on a `CacheManager`, and recording how it ends.
 * Every value written is unique to its operation and names it (`s7` is operation 7's
 * `set`, `a7` its add, `g7` getOrAdd's factory value), and an update's value names the
 * value it was computed from (`u9<s7`), which is what the CAS invariant checks.
 */
import type { Expiration } from '../../src/contracts/cache-handle.js'
import type { CacheManager } from '../../src/cache-manager.js'
import { type BulkOperation, isBulk, type Operation, REGION, type Slot, slotKey, TAG } from './history.js'
import type { OpRecord, Recorder } from './record.js'
import type { Scheduler } from './scheduler.js'
import { currentOp } from './scheduled-store.js'
import { origin } from './store-model.js'

/** How a write with a TTL expires: at its expiry, or that long after its last read. */
export type TtlMode = 'absolute' | 'sliding'

/** How an operation reads on the timeline. */
export function describeOp(op: Operation, id: number): string {
  if (isBulk(op)) {
    if (op.kind !== 'setMany') return `${op.kind}(${op.slots.join(', ')})`
    const ttl = op.ttl > 0 ? `, ttl ${op.ttl}ms` : ''
    return `setMany(${op.slots.map((slot) => `${slot}=${bulkValue(id, slot)}`).join(', ')}${ttl})`
  }
  if (op.kind === 'removeByTag') return `removeByTag(${TAG})`
  if (!('slot' in op)) return op.kind === 'clear' ? 'clear()' : `clearRegion(${REGION})`
  const ttl = 'ttl' in op && op.ttl > 0 ? `, ttl ${op.ttl}ms` : ''
  const value = written(op, id)
  if (op.kind === 'update' || op.kind === 'tryUpdate') return `${op.kind}(${op.slot}, v => u${id}<v)`
  if (op.kind === 'addOrUpdate') return `addOrUpdate(${op.slot}, ${value}, v => u${id}<v${ttl})`
  if (op.kind === 'getOrAdd') return `getOrAdd(${op.slot}, () => ${value}${ttl})`
  if (op.kind === 'getOrAddFailing') return `getOrAdd(${op.slot}, () => throw${ttl})`
  if (op.kind === 'expire') return `expire(${op.slot}${ttl === '' ? ', none' : ttl})`
  if (op.kind === 'getStale') return `get(${op.slot}, allowStale)`
  return value === undefined ? `${op.kind}(${op.slot})` : `${op.kind}(${op.slot}, ${value}${ttl})`
}

/** The value an operation writes when it is not an update, if any. */
function written(op: Operation, id: number): string | undefined {
  if (op.kind === 'set') return `s${id}`
  if (op.kind === 'add' || op.kind === 'addOrUpdate') return `a${id}`
  if (op.kind === 'getOrAdd') return `g${id}`
  return undefined
}

/** The value a setMany writes to one slot: unique per operation and slot (`m7.a`, `m7.r/a`). */
export function bulkValue(id: number, slot: Slot): string {
  return `m${id}.${slot}`
}

/** Starts a bulk operation: its slots are of one region. */
function invokeBulk(
  manager: CacheManager<unknown>,
  op: BulkOperation,
  id: number,
  tags: readonly string[] | undefined,
  mode: TtlMode,
): unknown {
  const region = slotKey(op.slots[0]!).region
  const keys = op.slots.map((slot) => slotKey(slot).key)
  if (op.kind === 'getMany') return manager.getMany(keys, { region })
  if (op.kind !== 'setMany') return manager.removeMany(keys, { region })
  const expiration: Expiration = op.ttl > 0 ? { mode, ttl: op.ttl } : { mode: 'none' }
  const entries = op.slots.map((slot, i) => ({ key: keys[i]!, value: bulkValue(id, slot) }))
  return manager.setMany(entries, { region, expiration, tags })
}

/** The factory of `getOrAddFailing`: the source is down. */
function failingFactory(): never {
  throw new Error('the source is down')
}

/** Short text of a result. */
export function show(value: unknown): string {
  if (value === undefined) return 'undefined'
  if (typeof value === 'object' && value !== null) return JSON.stringify(value)
  return String(value)
}

/** Starts `op` on `manager` as operation `id` (its store calls are attributed to it). */
function invoke(
  manager: CacheManager<unknown>,
  op: Operation,
  id: number,
  tags: readonly string[] | undefined,
  mode: TtlMode,
): unknown {
  if (isBulk(op)) return invokeBulk(manager, op, id, tags, mode)
  if (op.kind === 'removeByTag') return manager.removeByTag(TAG)
  if (!('slot' in op)) return op.kind === 'clear' ? manager.clear() : manager.clearRegion(REGION)
  const { key, region } = slotKey(op.slot)
  const expiration: Expiration = 'ttl' in op && op.ttl > 0 ? { mode, ttl: op.ttl } : { mode: 'none' }
  const update = (value: unknown) => `u${id}<${origin(String(value)).id}`
  switch (op.kind) {
    case 'get':
      return manager.get(key, { region })
    case 'getStale':
      return manager.get(key, { region, allowStale: true })
    case 'peek':
      return manager.peek(key, { region })
    case 'set':
      return manager.set(key, `s${id}`, { region, expiration, tags })
    case 'add':
      return manager.add(key, `a${id}`, { region, expiration, tags })
    case 'update':
      return manager.update(key, update, { region })
    case 'tryUpdate':
      return manager.tryUpdate(key, update, { region })
    case 'addOrUpdate':
      return manager.addOrUpdate(key, `a${id}`, update, { region, expiration, tags })
    case 'getOrAdd':
      return manager.getOrAdd(key, () => `g${id}`, { region, expiration, tags })
    case 'getOrAddFailing':
      return manager.getOrAdd(key, failingFactory, { region, expiration, tags })
    case 'remove':
      return manager.remove(key, { region })
    case 'expire':
      return manager.expire(key, expiration, { region })
  }
}

/** Starts `op` on instance `instance`; its record is completed when it settles. */
export function startOp(
  record: Recorder,
  scheduler: Scheduler,
  managers: readonly CacheManager<unknown>[],
  instance: number,
  op: Operation,
  tagged = true,
  mode: TtlMode = 'absolute',
): OpRecord {
  const id = record.ops.length + 1
  const start = record.log(`i${instance} #${id} ${describeOp(op, id)}`)
  const rec: OpRecord = { id, instance, op, start, startedAt: Date.now(), status: 'pending' }
  record.ops.push(rec)
  let outcome: Promise<unknown>
  try {
    outcome = Promise.resolve(
      currentOp.run(id, () => invoke(managers[instance]!, op, id, tagged ? [TAG] : undefined, mode)),
    )
  } catch (error) {
    outcome = Promise.reject(error)
  }
  outcome.then(
    (value) => {
      rec.status = 'ok'
      rec.result = value
      rec.end = record.log(`i${instance} #${id} ${op.kind} returns ${show(value)}`)
      scheduler.touch()
    },
    (error: unknown) => {
      rec.status = 'error'
      rec.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
      rec.end = record.log(`i${instance} #${id} ${op.kind} fails: ${rec.error}`)
      scheduler.touch()
    },
  )
  return rec
}

/**
 * The history invariants, checked on the record of a finished history (the store-level
 * ones, CAS, add and versions, are checked as the store applies each change: see
 * `store-model.ts`).
 *
 * When does instance i "know" of a store change m (by operation O of instance j)?
 * - j = i: when O resolved (its own write);
 * - a frame from j, published after j heard the store's reply to m (for a `set` or `remove`
 *   announced with its write: after the store applied m) and invalidating m's key (or
 *   clearing), was delivered to i: the message of O, or a later one of j for the key;
 * - an unrecovered gap was reported to i after the store applied m (it clears i's local
 *   layers: everything the store applied before it counts as heard). A recovered gap
 *   counts for nothing by itself: the frames replayed before it are what i heard.
 * Staleness: a read by i that starts after O resolved (successfully) and after i knows
 * of m returns no value the store held only before m (an older value, a removed or a
 * cleared one). A stale read (`get` with `allowStale`, getOrAdd of an item written with
 * grace) may return a replaced one, which a remote write leaves as a stale local copy for
 * fail-safe, never a removed or cleared one. Expiry: a read never returns a value whose
 * expiry, as i may know it, had passed when the read started (for a stale read: its expiry
 * plus the grace it was written with). A read returns only values some write stored (or, for
 * getOrAdd, its own factory's value when the store could not take it). A getOrAdd that
 * joins another one of the same key in flight on its instance (one factory call per key
 * per process) reads as of the start of the first.
 */
import type { Operation, Slot } from './history.js'
import { checkLostWrites } from './lost-writes.js'
import type { Mutation, OpRecord, Recorder } from './record.js'

/**
 * When instance `i` knows of change `m`, or undefined while it does not. A frame of m's
 * instance tells of m from the one carrying O's message on: O announces once its store
 * reply was heard (a frame published between the store applying m and that reply carries
 * other messages, written before), or, a `set` or `remove` announced with its write
 * (`announceWithWrite`), as its request left, so every frame published after m does.
 */
function knownAt(record: Recorder, i: number, m: Mutation, op: OpRecord): number | undefined {
  let known = m.instance === i ? op.end : undefined
  const early = record.announceWithWrite && (op.op.kind === 'set' || op.op.kind === 'remove')
  const after = early ? m.t : (m.heard ?? m.t)
  for (const frame of record.frames) {
    if (frame.from !== m.instance || frame.to !== i || frame.delivered === undefined) continue
    if (frame.published <= after) continue
    if (frame.slots !== 'all' && !frame.slots.has(m.slot)) continue
    known = Math.min(known ?? frame.delivered, frame.delivered)
  }
  for (const gap of record.gaps) {
    if (gap.instance === i && gap.t > m.t) known = Math.min(known ?? gap.t, gap.t)
  }
  return known
}

/** The operation behind `m` if it resolved (successfully) before `t`. */
function resolvedBefore(record: Recorder, m: Mutation, t: number): OpRecord | undefined {
  const op = m.opId === undefined ? undefined : record.ops[m.opId - 1]
  return op?.status === 'ok' && op.end !== undefined && op.end < t ? op : undefined
}

/** A read's value a write stored, or undefined when the read is not checked (own unstored factory value). */
function writeOf(record: Recorder, read: OpRecord, value: string, slot: Slot): Mutation | undefined {
  const write = record.written.get(value)
  if (write === undefined) {
    const factory = /^g(\d+)$/.exec(value)
    const owner = factory === null ? undefined : record.ops[Number(factory[1]) - 1]
    if (owner?.instance === read.instance && owner.op.kind === 'getOrAdd') return undefined
    record.violate('phantom', `i${read.instance} #${read.id} read ${slot} = ${value}, which no write stored`)
    return undefined
  }
  if (write.slot !== slot) {
    record.violate(
      'phantom',
      `i${read.instance} #${read.id} read ${slot} = ${value}, written to ${write.slot}`,
    )
    return undefined
  }
  return write
}

/** getOrAdd, with a factory that works or one that throws. */
const isGetOrAdd = (op: OpRecord) => op.op.kind === 'getOrAdd' || op.op.kind === 'getOrAddFailing'

/**
 * A read that may return a stale value (past its expiry, within its grace): `get` with
 * `allowStale`, and getOrAdd of an item written with grace (fail-safe: its factory failed,
 * or it joined one whose factory failed, or the store failed).
 */
function staleAllowed(read: OpRecord, write: Mutation): boolean {
  if (read.op.kind === 'getStale') return true
  return isGetOrAdd(read) && (write.grace ?? 0) > 0
}

/** Both operations are on one slot. */
const sameSlot = (a: Operation, b: Operation) => 'slot' in a && 'slot' in b && a.slot === b.slot

/** When a read starts, for the invariants: a getOrAdd joining one in flight starts with it. */
function readStart(record: Recorder, read: OpRecord): OpRecord {
  if (!isGetOrAdd(read)) return read
  let first = read
  for (const op of record.ops) {
    if (op.id >= read.id || op.instance !== read.instance || !isGetOrAdd(op)) continue
    if (!sameSlot(op.op, read.op) || (op.end !== undefined && op.end < read.start)) continue
    if (op.start < first.start) first = op
  }
  return first === read ? read : { ...read, start: first.start, startedAt: first.startedAt }
}

/** Staleness of one read; true when it was violated. */
function checkStale(record: Recorder, read: OpRecord, value: string, write: Mutation): boolean {
  // A stale read may return a value a later write replaced: a local copy that a remote write
  // expired is kept for its grace, for fail-safe (docs/resilience.md). Never a removed one.
  const removalsOnly = staleAllowed(read, write)
  for (const m of record.mutations) {
    if (m.slot !== write.slot || m.seq <= write.seq || m.kind === 'expire') continue
    if (removalsOnly && m.kind !== 'remove' && m.kind !== 'clear') continue
    const op = resolvedBefore(record, m, read.start)
    const known = op === undefined ? undefined : knownAt(record, read.instance, m, op)
    if (op === undefined || known === undefined || known >= read.start) continue
    record.violate(
      'staleness',
      `i${read.instance} #${read.id} (t${read.start}) read ${write.slot} = ${value}, but #${op.id} ` +
        `${m.kind} by i${m.instance} replaced it (store t${m.t}, resolved t${op.end}, known to i${read.instance} at t${known})`,
    )
    return true
  }
  return false
}

/** Expiry of one read: the value must not be past every expiry i may know for it. */
function checkExpiry(record: Recorder, read: OpRecord, value: string, write: Mutation): void {
  let known = write.expiresAt ?? 0
  const unknown: number[] = []
  for (const m of record.mutations) {
    if (m.slot !== write.slot || m.seq <= write.seq || m.t >= read.start) continue
    // The item stays in the store under a new stamp: expires after it still apply to it.
    if (m.byTag === true) continue
    if (m.kind !== 'expire') break // the value was replaced: staleness is the question then
    const op = resolvedBefore(record, m, read.start)
    const heard = op === undefined ? undefined : knownAt(record, read.instance, m, op)
    if (heard !== undefined && heard < read.start) {
      known = m.expiresAt ?? 0
      unknown.length = 0
    } else unknown.push(m.expiresAt ?? 0)
  }
  const candidates = [known, ...unknown, ...slidByReads(record, read, value, write)]
  // A stale read may return the item for its grace past the expiry (the grace it was written with).
  const grace = staleAllowed(read, write) ? (write.grace ?? 0) : 0
  if (candidates.some((at) => at === 0 || read.startedAt < at + grace)) return
  const clock = (at: number) => `+${at - record.clockStart}ms`
  record.violate(
    'expiry',
    `i${read.instance} #${read.id} read ${write.slot} = ${value} at clock ${clock(read.startedAt)}, ` +
      `past its expiry (${candidates.map(clock).join(', ')})${grace > 0 ? ` and its grace (${grace}ms)` : ''}`,
  )
}

/**
 * A sliding value's expiries as instance i's own reads of it extended them: each one that
 * returned it (from a local copy, which the store never sees) slid it to its start + TTL.
 * `CacheManager.peek` counts: a hit slides as `get`'s memory hit does (a handle's `peek`
 * does not, but the model calls the manager's).
 */
function slidByReads(record: Recorder, read: OpRecord, value: string, write: Mutation): number[] {
  const ttl = write.slidingTtl ?? 0
  if (ttl === 0) return []
  const slid: number[] = []
  for (const op of record.ops) {
    if (op.instance !== read.instance || op.start >= read.start || op.status !== 'ok') continue
    const returned = Array.isArray(op.result) ? op.result.includes(value) : op.result === value
    if (returned) slid.push(op.startedAt + ttl)
  }
  return slid
}

/** A successful write's value must be in the store's history. */
function checkWritten(record: Recorder, op: OpRecord): void {
  const result = op.result as { ok?: boolean; value?: unknown } | string | boolean | undefined
  let value: unknown
  if (op.op.kind === 'add' && result === true) value = `a${op.id}`
  if (op.op.kind === 'update' || op.op.kind === 'addOrUpdate') value = result
  if (op.op.kind === 'tryUpdate' && typeof result === 'object' && result.ok === true) value = result.value
  if (typeof value === 'string' && !record.written.has(value)) {
    record.violate(
      'cas',
      `i${op.instance} #${op.id} ${op.op.kind} reported ${value} written; the store never took it`,
    )
  }
}

/** A getMany is a read of each of its slots, all starting when the call started. */
function checkReadMany(record: Recorder, read: OpRecord, slots: readonly Slot[]): void {
  const values = read.result as readonly unknown[]
  if (!Array.isArray(values) || values.length !== slots.length) {
    record.violate(
      'phantom',
      `i${read.instance} #${read.id} getMany returned ${String(values)} for ${slots.length} keys`,
    )
    return
  }
  slots.forEach((slot, i) => {
    const value = values[i]
    if (typeof value !== 'string') return
    const write = writeOf(record, read, value, slot)
    if (write !== undefined && !checkStale(record, read, value, write))
      checkExpiry(record, read, value, write)
  })
}

/** Checks every finished history invariant on `record` (the lost-write ones: `lost-writes.ts`). */
export function checkHistory(record: Recorder): void {
  checkLostWrites(record)
  for (const op of record.ops) {
    if (op.status === 'pending') {
      record.violate('hang', `i${op.instance} #${op.id} ${op.op.kind} never settled`)
      continue
    }
    if (op.status !== 'ok') continue
    checkWritten(record, op)
    if (op.op.kind === 'getMany') {
      checkReadMany(record, op, op.op.slots)
      continue
    }
    const kind = op.op.kind
    const reads = kind === 'get' || kind === 'getStale' || kind === 'peek' || isGetOrAdd(op)
    if (!reads || !('slot' in op.op) || typeof op.result !== 'string') continue
    const write = writeOf(record, op, op.result, op.op.slot)
    const read = readStart(record, op)
    if (write !== undefined && !checkStale(record, read, op.result, write))
      checkExpiry(record, read, op.result, write)
  }
}

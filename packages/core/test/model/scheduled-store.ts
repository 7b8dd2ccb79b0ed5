/**
 * One instance's connection to the shared store, under the scheduler. Every call becomes
 * two tasks: the request reaching the store (`exec`: the wrapped handle is called, the
 * change is applied to the {@link StoreModel} in the same step) and the reply reaching the
 * caller (`reply`). Either can be delayed behind any other task, so "the store applied A's
 * write but A hears the reply late" is an ordinary interleaving. A fault refuses an exec
 * (nothing reaches the store) or loses a reply (the store applied it; the caller gets an
 * error); a timeout rejects the caller while its exec is still pending, which then runs in
 * its connection's order, with nobody to hear the reply. `onEvict` is not passed on: a store's own evictions would be a side channel
 * between instances that real stores do not all have.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type {
  BulkEntry,
  CacheHandle,
  ExpirationMode,
  ItemInput,
  MaybePromise,
  StoredItem,
  UpdateOutcome,
} from '../../src/contracts/cache-handle.js'
import { jsonSerializer } from '../../src/serializers.js'
import { decodeTaggedBytes, isTaggedBytes, TAG_REGION } from '../../src/tags.js'
import { type Slot, slotOf } from './history.js'
import type { Recorder } from './record.js'
import type { Scheduler } from './scheduler.js'
import type { StoreModel } from './store-model.js'

/** The operation (its id) a store call is made for; undefined for background calls. */
export const currentOp = new AsyncLocalStorage<number>()

/** Decodes the value bytes a distributed handle stores (the managers use the JSON serializer). */
function decode(bytes: unknown): string {
  try {
    const inner = isTaggedBytes(bytes as Uint8Array) ? decodeTaggedBytes(bytes as Uint8Array).inner : bytes
    return String(jsonSerializer.deserialize(inner as Uint8Array))
  } catch {
    return '<corrupt>'
  }
}

interface Context {
  readonly instance: number
  readonly scheduler: Scheduler
  readonly record: Recorder
  readonly model: StoreModel
}

type Call = <T>(what: string, exec: (opId: number | undefined) => MaybePromise<T>) => Promise<T>

/** Notes the mark of a tagged write's value (see `StoreModel.marked`). */
function noteMark(model: StoreModel, item: ItemInput<unknown>): void {
  const bytes = item.value as Uint8Array
  if (isTaggedBytes(bytes)) model.marked(decode(bytes), decodeTaggedBytes(bytes).marks[0]!)
}

/** A sliding item the store just extended (its get slides it, as does touch): an expire, to the model. */
function noteSlid(
  { instance, model }: Context,
  opId: number | undefined,
  key: string,
  region: string | undefined,
  item: StoredItem<unknown> | undefined,
): void {
  if (item?.mode === 'sliding') model.slid(instance, opId, slot(key, region), item.expiresAt)
}

/** The slot of a key the model uses. */
function slot(key: string, region: string | undefined): Slot {
  const found = slotOf(key, region)
  if (found === undefined) throw new Error(`model: unexpected key ${String(region)}/${key}`)
  return found
}

/** Wraps `inner` (one instance's handle of the shared store) so its calls run under the scheduler. */
export function scheduledStore(inner: CacheHandle<unknown>, context: Context): CacheHandle<unknown> {
  const call: Call = (what, exec) => scheduledCall(context, what, exec)
  const handle: CacheHandle<unknown> = {
    name: inner.name,
    capabilities: { ...inner.capabilities, synchronous: false },
    ...itemCalls(inner, context, call),
    ...clearCalls(inner, context, call),
    close: () => inner.close(),
  }
  // Even instances reach the store through its bulk members, odd ones key by key (core's
  // fallback), so every history with bulk operations runs both paths.
  if (context.instance % 2 === 0) Object.assign(handle, bulkCalls(inner, context, call))
  if (inner.touch === undefined) delete (handle as { touch?: unknown }).touch
  if (inner.bind !== undefined) handle.bind = (name) => inner.bind!(name)
  const onRemoteClear = inner.onRemoteClear
  if (onRemoteClear !== undefined) {
    handle.onRemoteClear = (region) =>
      call(`onRemoteClear(${region ?? ''})`, () => onRemoteClear.call(inner, region))
  }
  return handle
}

/** get, add, set and update: each applied to the model as the store answers it. */
function itemCalls(inner: CacheHandle<unknown>, context: Context, call: Call) {
  const { instance, model } = context
  const stamps = stampCalls(inner, context, call)
  return {
    get: (key: string, region: string | undefined) =>
      region === TAG_REGION
        ? stamps.get(key)
        : call(`get(${slot(key, region)})`, async (opId) => {
            const item = await inner.get(key, region)
            model.read(instance, slot(key, region), item === undefined ? undefined : decode(item.value))
            noteSlid(context, opId, key, region, item)
            return item
          }),
    touch: (key: string, region: string | undefined) =>
      call(`touch(${slot(key, region)})`, async (opId) => {
        const found = await inner.touch!(key, region)
        // What the touch made of it, read without sliding it again (a store without peek: not noted).
        if (found) noteSlid(context, opId, key, region, await inner.peek?.(key, region))
        return found
      }),
    add: (key: string, region: string | undefined, item: ItemInput<unknown>) =>
      call(`add(${slot(key, region)}=${decode(item.value)})`, async (opId) => {
        const value = decode(item.value)
        noteMark(model, item)
        if (!model.add(instance, slot(key, region), value, await inner.add(key, region, item))) return false
        // Read back without sliding it (a sliding item's get extends it: a side effect of the model's own)
        const stored: StoredItem<unknown> | undefined = await (inner.peek ?? inner.get).call(
          inner,
          key,
          region,
        )
        model.added(instance, opId, slot(key, region), value, stored?.version ?? Number.NaN, item)
        return true
      }),
    set: (key: string, region: string | undefined, item: ItemInput<unknown>) =>
      region === TAG_REGION
        ? stamps.set(key, item)
        : call(`set(${slot(key, region)}=${decode(item.value)})`, async (opId) => {
            const version = await inner.set(key, region, item)
            noteMark(model, item)
            model.set(instance, opId, slot(key, region), decode(item.value), version, item)
            return version
          }),
    update: (key: string, region: string | undefined, expected: number, item: ItemInput<unknown>) =>
      call(`update(${slot(key, region)}=${decode(item.value)} if v${expected})`, async (opId) => {
        const outcome: UpdateOutcome = await inner.update(key, region, expected, item)
        if (outcome.status !== 'ok') return outcome
        noteMark(model, item)
        model.updated(instance, opId, slot(key, region), decode(item.value), outcome.version, item)
        return outcome
      }),
  }
}

/** getMany, setMany and removeMany, when the store has them: one store call, applied per key. */
function bulkCalls(inner: CacheHandle<unknown>, context: Context, call: Call) {
  const { instance, model } = context
  const { getMany, setMany, removeMany } = inner
  if (getMany === undefined || setMany === undefined || removeMany === undefined) return {}
  const slots = (keys: readonly string[], region: string | undefined) =>
    keys.map((key) => slot(key, region)).join(',')
  return {
    getMany: (keys: readonly string[], region: string | undefined) =>
      call(`getMany(${slots(keys, region)})`, async (opId) => {
        const items = await getMany.call(inner, keys, region)
        keys.forEach((key, i) => {
          const item = items[i]
          model.read(instance, slot(key, region), item === undefined ? undefined : decode(item.value))
          noteSlid(context, opId, key, region, item)
        })
        return items
      }),
    setMany: (entries: ReadonlyArray<BulkEntry<unknown>>, region: string | undefined) =>
      call(
        `setMany(${slots(
          entries.map((e) => e.key),
          region,
        )})`,
        async (opId) => {
          const versions = await setMany.call(inner, entries, region)
          entries.forEach(({ key, item }, i) => {
            noteMark(model, item)
            model.set(instance, opId, slot(key, region), decode(item.value), versions[i]!, item)
          })
          return versions
        },
      ),
    removeMany: (keys: readonly string[], region: string | undefined) =>
      call(`removeMany(${slots(keys, region)})`, async (opId) => {
        const removed = await removeMany.call(inner, keys, region)
        for (const key of keys) model.removed(instance, opId, slot(key, region))
        return removed
      }),
  }
}

/**
 * The tag stamps' calls (the reserved region): scheduled like any store call; writing a new
 * stamp is, to the model, the removal of every value the store holds (they all carry the tag).
 */
function stampCalls(inner: CacheHandle<unknown>, { instance, model }: Context, call: Call) {
  return {
    get: (tag: string) => call(`getStamp(${tag})`, () => inner.get(tag, TAG_REGION)),
    set: (tag: string, item: ItemInput<unknown>) =>
      call(`setStamp(${tag})`, async (opId) => {
        const version = await inner.set(tag, TAG_REGION, item)
        const bytes = item.value as Uint8Array
        model.tagInvalidated(
          instance,
          opId,
          new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0, true),
        )
        return version
      }),
  }
}

/** remove, expire, clear and clearRegion. */
function clearCalls(inner: CacheHandle<unknown>, { instance, model }: Context, call: Call) {
  return {
    remove: (key: string, region: string | undefined) =>
      call(`remove(${slot(key, region)})`, async (opId) => {
        const removed = await inner.remove(key, region)
        model.removed(instance, opId, slot(key, region))
        return removed
      }),
    expire: (key: string, region: string | undefined, mode: ExpirationMode, ttl: number, expiresAt: number) =>
      call(`expire(${slot(key, region)})`, async (opId) => {
        const found = await inner.expire(key, region, mode, ttl, expiresAt)
        if (found) model.expired(instance, opId, slot(key, region), expiresAt)
        return found
      }),
    clear: () =>
      call('clear()', async (opId) => {
        await inner.clear()
        model.cleared(instance, opId, undefined, true)
      }),
    clearRegion: (region: string) =>
      call(`clearRegion(${region})`, async (opId) => {
        await inner.clearRegion(region)
        model.cleared(instance, opId, region, false)
      }),
  }
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown }

/** What `call` resolved to or threw. */
async function outcomeOf<T>(call: () => MaybePromise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await call() }
  } catch (error) {
    return { ok: false, error }
  }
}

/** One store call as two scheduled tasks: exec (at the store) and reply (at the caller). */
function scheduledCall<T>(
  context: Context,
  what: string,
  exec: (opId: number | undefined) => MaybePromise<T>,
): Promise<T> {
  const { instance, scheduler, record } = context
  const opId = currentOp.getStore()
  const by = `i${instance}${opId === undefined ? '' : ` #${opId}`}`
  return new Promise<T>((resolve, reject) => {
    // The changes the call applied (mutations `from` to `to`), marked heard with its reply.
    let from = 0
    let to = 0
    // The caller gave up on it (a timeout): it still executes, and nobody hears the reply.
    let timedOut = false
    const reply = (outcome: Outcome<T>) => {
      if (timedOut) return
      const shown = outcome.ok ? `-> ${show(outcome.value)}` : `-> error ${String(outcome.error)}`
      scheduler.add({
        kind: 'reply',
        instance,
        connection: `i${instance} replies`,
        label: `${by} hears store.${what} ${shown}`,
        run(fault) {
          const heard = record.log(`${by} hears store.${what} ${fault ? 'LOST (error)' : shown}`)
          if (!fault) for (let i = from; i < to; i++) record.mutations[i]!.heard = heard
          if (fault) reject(new Error('model: reply lost'))
          else if (outcome.ok) resolve(outcome.value)
          else reject(outcome.error)
        },
      })
    }
    scheduler.add({
      kind: 'exec',
      instance,
      connection: `i${instance} requests`,
      label: `${by} store.${what}`,
      timeOut() {
        if (timedOut) return false
        timedOut = true
        record.log(`${by} store.${what} TIMES OUT (the caller gets an error; the request goes on)`)
        reject(new Error('model: store call timed out'))
        return true
      },
      async run(fault) {
        if (fault) {
          record.log(`${by} store.${what} REFUSED`)
          reject(new Error('model: store call refused'))
          return
        }
        record.log(`${by} store.${what} executes`)
        from = record.mutations.length
        const outcome = await outcomeOf(() => exec(opId))
        to = record.mutations.length
        reply(outcome)
      },
    })
  })
}

/** A store answer, short. */
function show(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (typeof value !== 'object' || value === null) return String(value)
  if ('status' in value) return String((value as UpdateOutcome).status)
  if ('value' in value) return `${decode((value as StoredItem).value)} v${(value as StoredItem).version}`
  return 'ok'
}

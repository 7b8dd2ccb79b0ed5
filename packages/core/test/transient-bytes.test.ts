// The manager asks its serializer for transient bytes only when every bytes handle copies
// what it is given (HandleCapabilities.copiesBytes): a kept pool slice would hold its pool.
import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, it } from 'vitest'
import type { CacheHandle } from '../src/contracts/cache-handle.js'
import type { Serializer } from '../src/contracts/serializer.js'
import { CacheManager } from '../src/cache-manager.js'
import { jsonSerializer } from '../src/serializers.js'

/** The JSON serializer, recording the `transient` of each call. */
function recording(): Serializer & { readonly calls: Array<boolean | undefined> } {
  const calls: Array<boolean | undefined> = []
  return {
    name: 'recording',
    calls,
    serialize: (value, transient) => {
      calls.push(transient)
      return jsonSerializer.serialize(value, transient)
    },
    deserialize: (bytes) => jsonSerializer.deserialize(bytes),
  }
}

/** A distributed memory handle (it keeps the arrays it stores) claiming `copiesBytes` or not. */
function bytesHandle(name: string, copiesBytes: boolean | undefined): CacheHandle {
  const inner = memoryHandle({ name, distributed: true, sweepIntervalMs: 0 })
  return Object.assign(Object.create(inner) as CacheHandle, {
    capabilities: { ...inner.capabilities, copiesBytes },
  })
}

const managers: CacheManager[] = []
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()))
})

function managerOf(serializer: Serializer, handles: CacheHandle[]): CacheManager {
  const manager = new CacheManager({ name: `transient-${managers.length}`, serializer, handles })
  managers.push(manager)
  return manager
}

describe('transient serializer output', () => {
  it('is asked for when every bytes handle copies, and the value reads back', async () => {
    const serializer = recording()
    const cache = managerOf(serializer, [memoryHandle({ sweepIntervalMs: 0 }), bytesHandle('store', true)])
    await cache.set('k', { n: 1 })
    await cache.set('t', { n: 2 }, { tags: ['group'] })
    expect(serializer.calls).toEqual([true, true])
    expect(await cache.getOrAdd('k', () => ({ n: 0 }))).toEqual({ n: 1 })
  })

  it('is not asked for when one bytes handle may keep the arrays', async () => {
    for (const copies of [false, undefined]) {
      const serializer = recording()
      const cache = managerOf(serializer, [bytesHandle('top', copies), bytesHandle('store', true)])
      await cache.set('k', { n: 1 })
      expect(serializer.calls).toEqual([false])
    }
  })

  it('a tagged write copies the serializer output into the tagged bytes, so that output is transient', async () => {
    const serializer = recording()
    const cache = managerOf(serializer, [bytesHandle('store', false)])
    await cache.set('t', { n: 2 }, { tags: ['group'] })
    expect(serializer.calls).toEqual([true])
    expect(await cache.get('t')).toEqual({ n: 2 })
  })
})

import { memoryHandle } from '@cacheplane/memory'
import { describe, expect, test } from 'vitest'
import type { BackplaneGap, BackplaneState } from '../src/contracts/backplane.js'
import type { CacheHandle, ItemInput } from '../src/contracts/cache-handle.js'
import { createBackplaneHub, memoryBackplane } from '../src/backplane/memory-backplane.js'
import {
  chaosBackplane,
  chaosHandle,
  describeBackplane,
  describeCacheHandle,
  waitFor,
} from '../src/testing/index.js'

// Untouched, the chaos wrappers must still honour the contracts they wrap.
describeCacheHandle('chaosHandle(memoryHandle)', () => chaosHandle(memoryHandle({ sweepIntervalMs: 0 })))
const hub = createBackplaneHub()
describeBackplane('chaosBackplane(memoryBackplane)', () => chaosBackplane(memoryBackplane({ hub })))

const item = (value: unknown): ItemInput => ({
  value,
  mode: 'none',
  ttl: 0,
  expiresAt: 0,
  created: Date.now(),
})

describe('chaosHandle', () => {
  test('keeps name and capabilities, but is asynchronous', () => {
    const inner = memoryHandle({ name: 'mem', distributed: true, sweepIntervalMs: 0 })
    const chaos = chaosHandle(inner)
    expect(chaos.name).toBe('mem')
    expect(chaos.capabilities).toEqual({ ...inner.capabilities, synchronous: false })
    expect(chaos.get('k', undefined)).toBeInstanceOf(Promise)
    expect(typeof chaos.touch).toBe('function')
  })

  test('optional members exist only when the wrapped handle has them', () => {
    const full = memoryHandle({ sweepIntervalMs: 0 })
    const bare: CacheHandle = {
      name: 'bare',
      capabilities: full.capabilities,
      get: (key, region) => full.get(key, region),
      add: (key, region, input) => full.add(key, region, input),
      set: (key, region, input) => full.set(key, region, input),
      update: (key, region, expected, input) => full.update(key, region, expected, input),
      remove: (key, region) => full.remove(key, region),
      expire: (key, region, mode, ttl, expiresAt) => full.expire(key, region, mode, ttl, expiresAt),
      clear: () => full.clear(),
      clearRegion: (region) => full.clearRegion(region),
      close: () => full.close(),
    }
    const chaos = chaosHandle(bare)
    for (const member of ['touch', 'getMany', 'onEvict', 'bind', 'onRemoteClear'] as const) {
      expect(chaos[member], member).toBeUndefined()
    }
    expect(typeof chaosHandle(full).getMany).toBe('function')
  })

  test('failNext fails the next n calls, then lets calls through', async () => {
    const chaos = chaosHandle(memoryHandle({ sweepIntervalMs: 0 }))
    const boom = new Error('boom')
    chaos.failNext(2, boom)
    await expect(chaos.set('k', undefined, item('v'))).rejects.toBe(boom)
    await expect(chaos.get('k', undefined)).rejects.toBe(boom)
    expect(await chaos.set('k', undefined, item('v'))).toBe(1)
    expect((await chaos.get('k', undefined))?.value).toBe('v')
    expect(chaos.calls).toBe(4)
  })

  test('failAlways fails every call until switched off; failed writes never reach the store', async () => {
    const inner = memoryHandle({ sweepIntervalMs: 0 })
    const chaos = chaosHandle(inner)
    chaos.failAlways()
    await expect(chaos.set('k', undefined, item('v'))).rejects.toThrow(/chaos/)
    await expect(chaos.clear()).rejects.toThrow(/failAlways/)
    expect(inner.get('k', undefined)).toBeUndefined()
    chaos.failAlways(false)
    expect(await chaos.add('k', undefined, item('v'))).toBe(true)
  })

  test('ops limits the disturbed operations', async () => {
    const chaos = chaosHandle(memoryHandle({ sweepIntervalMs: 0 }), { ops: ['get'] })
    chaos.failAlways()
    expect(await chaos.set('k', undefined, item('v'))).toBe(1)
    await expect(chaos.get('k', undefined)).rejects.toThrow()
  })

  test('delay postpones calls', async () => {
    const chaos = chaosHandle(memoryHandle({ sweepIntervalMs: 0 }))
    chaos.delay(50)
    const started = Date.now()
    await chaos.set('k', undefined, item('v'))
    expect(Date.now() - started).toBeGreaterThanOrEqual(45)
  })

  test('hold keeps the answer of a read that already happened until release', async () => {
    const inner = memoryHandle({ sweepIntervalMs: 0 })
    const chaos = chaosHandle(inner)
    inner.set('k', undefined, item('old'))
    const release = chaos.hold(['get'])
    let answered = false
    const read = chaos.get('k', undefined).then((found) => {
      answered = true
      return found
    })
    await waitFor(() => chaos.held === 1)
    inner.set('k', undefined, item('new')) // the read already saw 'old'
    expect(await chaos.set('other', undefined, item('x'))).toBe(3) // writes are not held (the third write)
    expect(answered).toBe(false)
    release()
    expect((await read)?.value).toBe('old')
    expect(chaos.held).toBe(0)
    expect((await chaos.get('k', undefined))?.value).toBe('new')
    release()
  })
})

describe('chaosBackplane', () => {
  const connect = async () => {
    const inner = memoryBackplane({ hub: createBackplaneHub() })
    const chaos = chaosBackplane(inner)
    const frames: Uint8Array[] = []
    const gaps: BackplaneGap[] = []
    const states: BackplaneState[] = []
    await chaos.connect('channel', {
      onFrame: (frame) => frames.push(frame),
      onGap: (gap) => gaps.push(gap),
      onState: (state) => states.push(state),
    })
    return { chaos, frames, gaps, states }
  }

  test('failPublishes rejects the next n publishes without sending them', async () => {
    const { chaos, frames } = await connect()
    chaos.failPublishes(2)
    await expect(chaos.publish(new Uint8Array([1]))).rejects.toThrow(/failPublishes/)
    await expect(chaos.publish(new Uint8Array([2]))).rejects.toThrow()
    await chaos.publish(new Uint8Array([3]))
    await waitFor(() => frames.length === 1)
    expect([...(frames[0] as Uint8Array)]).toEqual([3])
    expect([chaos.publishAttempts, chaos.published]).toEqual([3, 1])
    await chaos.close()
  })

  test('dropIncoming hides frames from the listener until switched off', async () => {
    const { chaos, frames } = await connect()
    chaos.dropIncoming()
    await chaos.publish(new Uint8Array([1]))
    await waitFor(() => chaos.dropped === 1)
    chaos.dropIncoming(false)
    await chaos.publish(new Uint8Array([2]))
    await waitFor(() => frames.length === 1)
    expect([...(frames[0] as Uint8Array)]).toEqual([2])
    await chaos.close()
  })

  test('emitGap and setState reach the listener', async () => {
    const { chaos, gaps, states } = await connect()
    chaos.emitGap()
    chaos.emitGap({ reason: 'reconnect', recovered: true })
    chaos.setState('disconnected')
    expect(gaps).toEqual([
      { reason: 'chaos', recovered: false },
      { reason: 'reconnect', recovered: true },
    ])
    expect(states).toEqual(['disconnected'])
    await chaos.close()
  })

  test('emitGap before connect is an error', () => {
    const chaos = chaosBackplane(memoryBackplane({ hub: createBackplaneHub() }))
    expect(() => chaos.emitGap()).toThrow(/connect/)
  })
})

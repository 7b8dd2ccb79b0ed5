// The Keyv handle's bulk writes: the locks they hold, and the adapter calls they make.
import Keyv from 'keyv'
import { describe, expect, it } from 'vitest'
import { holdingAll } from '../src/bulk.js'
import { keyvHandle } from '../src/index.js'
import { KeyLock } from '../src/key-lock.js'

const item = (text: string) => ({
  value: new TextEncoder().encode(text),
  mode: 'none' as const,
  ttl: 0,
  expiresAt: 0,
  created: Date.now(),
})

describe('holdingAll', () => {
  it('waits for earlier writes of any of its keys and holds later ones until it is done', async () => {
    const lock = new KeyLock()
    const order: string[] = []
    let finishEarlier!: () => void
    const earlier = lock.run('b', () =>
      new Promise<void>((resolve) => (finishEarlier = resolve)).then(() => order.push('earlier b')),
    )
    const bulk = holdingAll(lock, ['a', 'b', 'a'], async () => {
      order.push('bulk')
    })
    const later = lock.run('a', async () => order.push('later a'))
    await Promise.resolve()
    expect(order).toEqual([])
    finishEarlier()
    await Promise.all([earlier, bulk, later])
    expect(order).toEqual(['earlier b', 'bulk', 'later a'])
  })
})

describe('keyvHandle bulk members', () => {
  it('exist only when the adapter has the bulk calls', () => {
    const onMap = keyvHandle({ store: new Map() })
    expect('setMany' in onMap).toBe(false)
    expect('removeMany' in onMap).toBe(false)
    const onKeyv = keyvHandle({ store: new Keyv() })
    expect(typeof onKeyv.setMany).toBe('function')
    expect(typeof onKeyv.removeMany).toBe('function')
  })

  it('write and remove through the adapter setMany / deleteMany in one call each', async () => {
    const keyv = new Keyv()
    const calls: string[] = []
    const setMany = keyv.setMany.bind(keyv)
    const deleteMany = keyv.deleteMany.bind(keyv)
    keyv.setMany = (entries) => {
      calls.push(`setMany ${entries.length}`)
      return setMany(entries)
    }
    keyv.deleteMany = (keys) => {
      calls.push(`deleteMany ${keys.length}`)
      return deleteMany(keys)
    }
    const handle = keyvHandle({ store: keyv })
    handle.bind('c')
    await handle.setMany!(
      [
        { key: 'a', item: item('a') },
        { key: 'b', item: item('b') },
      ],
      'r',
    )
    expect((await handle.getMany(['a', 'b', 'c'], 'r')).map((i) => i?.value.byteLength)).toEqual([
      1,
      1,
      undefined,
    ])
    expect(await handle.removeMany!(['a', 'c'], 'r')).toBe(1)
    expect(await handle.get('a', 'r')).toBeUndefined()
    expect(calls).toEqual(['setMany 2', 'deleteMany 2'])
  })
})

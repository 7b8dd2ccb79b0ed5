import { describe, expect, it } from 'vitest'
import { boundHandle, item, text } from './helpers.js'

describe('smoke', () => {
  it('works', async () => {
    const h = boundHandle()
    expect(await h.get('a', undefined)).toBeUndefined()
    expect(await h.set('a', undefined, item('one'))).toBe(1)
    expect(await h.set('a', undefined, item('two'))).toBe(2)
    const got = await h.get('a', undefined)
    expect(text(got?.value)).toBe('two')
    expect(await h.add('a', undefined, item('x'))).toBe(false)
    expect(await h.update('a', undefined, 2, item('three'))).toEqual({ status: 'ok', version: 3 })
    expect(await h.update('a', undefined, 2, item('four'))).toEqual({ status: 'conflict' })
    await h.clear()
    expect(await h.get('a', undefined)).toBeUndefined()
    h.close()
  })
})

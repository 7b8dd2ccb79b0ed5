import { randomKey } from '@cacheplane/core/testing'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { holds, type Instance, instances, propagated } from './nats-managers.js'

let close: (() => Promise<void>) | undefined
afterEach(async () => {
  await close?.()
  close = undefined
})

async function two(options: { memoryOnly?: boolean; replay?: boolean }): Promise<[Instance, Instance]> {
  const url = inject('natsUrl')
  const started = await instances({
    name: randomKey('sync'),
    servers: [url, url],
    ...(options.memoryOnly ? { memoryOnly: true } : {}),
    ...(options.replay ? { replay: { maxAgeMs: 60_000, storage: 'memory' } } : {}),
  })
  close = started.close
  const [a, b] = started.all
  if (a === undefined || b === undefined) throw new Error('two instances expected')
  return [a, b]
}

describe.each([
  ['core NATS', false],
  ['JetStream replay', true],
])('managers synchronised over %s', (_, replay) => {
  it.each([undefined, 'eu'])('every write on A evicts B memory copies (region %s)', async (region) => {
    const [a, b] = await two({ replay })
    const opts = { region }
    await propagated(b, () => a.cache.set('k', 1, opts))
    expect(await b.cache.get('k', opts)).toBe(1)
    expect(await holds(b, 'k', region)).toBe(true)

    const steps: [() => Promise<unknown>, unknown][] = [
      [() => a.cache.set('k', 2, opts), 2],
      [() => a.cache.update('k', (v) => (v as number) + 1, opts), 3],
      [() => a.cache.addOrUpdate('k', 0, (v) => (v as number) + 1, opts), 4],
      [() => a.cache.expire('k', { mode: 'absolute', ttl: 60_000 }, opts), 4],
      [() => a.cache.remove('k', opts), undefined],
      [() => a.cache.add('k', 'added', opts), 'added'],
    ]
    for (const [write, expected] of steps) {
      // After the remove nobody holds the key, so the add has no copy on B to evict.
      const hadCopy = await holds(b, 'k', region)
      expect(hadCopy).toBe(expected !== 'added')
      await propagated(b, write)
      expect(await holds(b, 'k', region)).toBe(false)
      expect(await b.cache.get('k', opts)).toBe(expected)
    }
    expect(await b.cache.getOrAdd('k', () => 'never', opts)).toBe('added')
  })

  it('clear and clearRegion on A evict what B holds locally', async () => {
    const [a, b] = await two({ replay })
    await propagated(b, () => a.cache.set('x', 1))
    await propagated(b, () => a.cache.set('y', 1, { region: 'r' }))
    await propagated(b, () => a.cache.set('z', 1, { region: 's' }))
    for (const [key, region] of [['x'], ['y', 'r'], ['z', 's']] as const) await b.cache.get(key, { region })
    await propagated(b, () => a.cache.clearRegion('r'))
    expect(await holds(b, 'y', 'r')).toBe(false)
    expect(await holds(b, 'x')).toBe(true)
    expect(await holds(b, 'z', 's')).toBe(true)
    await propagated(b, () => a.cache.clear())
    expect(await holds(b, 'x')).toBe(false)
    expect(await holds(b, 'z', 's')).toBe(false)
    expect(await b.cache.get('x')).toBeUndefined()
  })

  it('memory-only instances evict each other on every change', async () => {
    const [a, b] = await two({ memoryOnly: true, replay })
    await propagated(a, () => b.cache.set('k', 'b-value'))
    await propagated(b, () => a.cache.set('k', 'a-value'))
    expect(await holds(b, 'k')).toBe(false)
    expect(await b.cache.get('k')).toBeUndefined()
    expect(await a.cache.get('k')).toBe('a-value')
  })
})

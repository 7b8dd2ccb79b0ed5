/** The keys and small objects every scenario uses. */

/** Keys in the memory-hit and distributed-hit scenarios. */
export const KEY_COUNT = 10_000

/** A small object, like a cached user row (~110 bytes as JSON). */
export interface SmallObject {
  readonly id: number
  readonly name: string
  readonly email: string
  readonly active: boolean
  readonly score: number
  readonly tags: readonly string[]
}

/** The small object stored under key number `i`. */
export function smallObject(i: number): SmallObject {
  return {
    id: i,
    name: `user-${i}`,
    email: `user${i}@example.com`,
    active: i % 2 === 0,
    score: (i % 1000) / 10,
    tags: ['bench', `group-${i % 16}`],
  }
}

/** `count` keys, `user:0` … */
export function makeKeys(count: number = KEY_COUNT): string[] {
  return Array.from({ length: count }, (_, i) => `user:${i}`)
}

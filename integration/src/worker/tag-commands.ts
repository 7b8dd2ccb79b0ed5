/**
 * The commands of `test/tags.test.ts`: write many tagged items, invalidate tags, and read
 * items back through every read path a tag invalidation must cover.
 */
import type { CacheManager } from '@cacheplane/core'
import type { Command, Value } from './protocol.js'

/** The tag commands, as the protocol names them. */
export type TagCommand = Extract<Command, { op: 'tagFill' | 'tagRemove' | 'tagRead' }>

/** What `tagRead` saw for each key, in order: the version `get` returned (or null) and `has`. */
export interface TagReadResult {
  readonly values: (number | null)[]
  readonly has: boolean[]
  /** Versions `peek` returned (memory only), or null. */
  readonly peeked: (number | null)[]
}

const CONCURRENCY = 50

async function eachConcurrently(count: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  const lane = async () => {
    while (next < count) await fn(next++)
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, lane))
}

/** True when `command` is a tag command. */
export function isTagCommand(command: Command): command is TagCommand {
  return command.op === 'tagFill' || command.op === 'tagRemove' || command.op === 'tagRead'
}

/** Runs one tag command on `manager`. */
export async function runTagCommand(
  manager: CacheManager<Value>,
  command: TagCommand,
  workerId: string,
): Promise<unknown> {
  switch (command.op) {
    case 'tagFill': {
      const { keys, tags, v } = command
      await eachConcurrently(keys.length, (i) =>
        manager.set(keys[i]!, { v, by: workerId }, { tags: [tags[i]!] }),
      )
      return null
    }
    case 'tagRemove':
      await manager.removeByTag(command.tags)
      return null
    case 'tagRead': {
      const { keys } = command
      const values: (number | null)[] = []
      const has: boolean[] = []
      const peeked: (number | null)[] = []
      for (const key of keys) {
        peeked.push(manager.peek(key)?.v ?? null)
        values.push((await manager.get(key))?.v ?? null)
        has.push(await manager.has(key))
      }
      return { values, has, peeked } satisfies TagReadResult
    }
  }
}

import { keySlot } from './key-slot.js'
import { isCluster, masters, type RedisClient } from './redis-connection.js'

/** Escapes the glob characters of MATCH (`* ? [ ] \`) so a prefix matches only itself. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}

/**
 * Removes every key starting with `prefix`: SCAN ... MATCH <prefix>* on every
 * master, each page removed with UNLINK (freed in the background by Redis).
 * On a Cluster one UNLINK may only name keys of one slot, so a page is grouped
 * by slot. Keys written while the scan runs may survive (SCAN guarantees only
 * keys present for the whole scan); that is the same race as a write landing
 * just after the clear. `onKeys` sees each page before it is removed.
 */
export async function scanAndUnlink(
  client: RedisClient,
  prefix: string,
  count: number,
  onKeys?: (keys: readonly string[]) => void,
): Promise<void> {
  const match = `${escapeGlob(prefix)}*`
  const cluster = isCluster(client)
  await Promise.all(
    (await masters(client)).map(async (node) => {
      let cursor = '0'
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', count)
        cursor = next
        if (keys.length === 0) continue
        onKeys?.(keys)
        if (!cluster) {
          await node.unlink(...keys)
          continue
        }
        const bySlot = new Map<number, string[]>()
        for (const key of keys) {
          const slot = keySlot(key)
          const group = bySlot.get(slot)
          if (group === undefined) bySlot.set(slot, [key])
          else group.push(key)
        }
        // Through the cluster client, not the node: it follows MOVED if a slot migrated meanwhile.
        await Promise.all([...bySlot.values()].map((group) => client.unlink(...group)))
      } while (cursor !== '0')
    }),
  )
}

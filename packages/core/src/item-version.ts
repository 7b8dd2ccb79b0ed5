/**
 * Item versions. A version names one write of one key, and `update` (compare-and-set)
 * only ever compares two versions for equality: nothing orders by them. What it needs is
 * that a version never comes back for a key, even after the item was removed, expired or
 * cleared; otherwise an update prepared against the old item matches a new item that
 * happens to get the same version (the ABA problem: the new item's write is lost).
 *
 * A counter kept with the item cannot promise that (it restarts with the item), and a
 * counter kept beside it costs a store a key that is never removed plus, on Redis Cluster,
 * a second slot. So the writer draws the version: 53 random bits, a safe integer like
 * every version before. Two writes of one key share a version with probability 2^-53,
 * whichever process made them; and `set` needs no read of the previous version, so it
 * costs one plain write. An in-process store may instead count per handle without ever
 * resetting (the memory handle does): that is unique too, and cheaper still.
 */
import { randomFillSync } from 'node:crypto'

// Random bits are drawn from the OS in batches: one randomFillSync per 256 versions.
const BATCH = 256
const words = new Uint32Array(2 * BATCH)
let used = BATCH

/** A version no write has drawn before (with probability 1 - 2^-53 per pair): a random safe integer in [1, 2^53). */
export function newVersion(): number {
  for (;;) {
    if (used === BATCH) {
      randomFillSync(words)
      used = 0
    }
    const i = 2 * used++
    // 21 high bits and 32 low bits: 53 bits, exact in a double.
    const version = (words[i]! & 0x1f_ffff) * 0x1_0000_0000 + words[i + 1]!
    if (version !== 0) return version
  }
}

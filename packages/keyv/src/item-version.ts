/**
 * Versions of items written through a Keyv store. A Keyv store cannot compare-and-set, so
 * this handle never offers `update` (no `cas`) and nothing compares its versions for a CAS;
 * still, a version names one write and must never come back for a key, even after a remove,
 * expiry or clear (cacheplane's version contract). A counter kept with the item restarts with
 * the item, and reading the previous version first would cost every `set` a round trip, so
 * the writer draws 53 random bits: two writes of one key share a version with probability
 * 2^-53, whichever process made them.
 */
import { randomFillSync } from 'node:crypto'

// Random bits come from the OS in batches: one randomFillSync per 256 versions.
const batch = 256
const words = new Uint32Array(2 * batch)
let used = batch

/** A random version in [1, 2^53): a positive safe integer, as the envelope requires. */
export function newVersion(): number {
  for (;;) {
    if (used === batch) {
      randomFillSync(words)
      used = 0
    }
    const i = 2 * used++
    // 21 high bits and 32 low bits: 53 bits, exact in a double.
    const version = (words[i]! & 0x1f_ffff) * 0x1_0000_0000 + words[i + 1]!
    if (version !== 0) return version
  }
}

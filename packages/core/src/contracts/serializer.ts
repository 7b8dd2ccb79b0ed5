/**
 * Turns values into bytes for handles that store bytes, and back. Both directions
 * may throw; core wraps a failed `serialize` in `E_SERIALIZE` (nothing is written)
 * and a failed `deserialize` in `E_ITEM_CORRUPT` (the read is a miss).
 */
export interface Serializer {
  /** Name recorded nowhere in the bytes; for errors and stats only. */
  readonly name: string
  /** Encodes a value. Must throw for values it cannot represent faithfully. */
  serialize(value: unknown): Uint8Array
  /**
   * Decodes bytes written by `serialize`. Must throw on bytes it did not write. `bytes` may
   * be a view on a larger network buffer (handles do not copy what they read): copy them if
   * the returned value keeps them.
   */
  deserialize(bytes: Uint8Array): unknown
}

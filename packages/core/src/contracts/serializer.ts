/**
 * Turns values into bytes for handles that store bytes, and back. Both directions
 * may throw; core wraps a failed `serialize` in `E_SERIALIZE` (nothing is written)
 * and a failed `deserialize` in `E_ITEM_CORRUPT` (the read is a miss).
 */
export interface Serializer {
  /** Name recorded nowhere in the bytes; for errors and stats only. */
  readonly name: string
  /**
   * Encodes a value. Must throw for values it cannot represent faithfully. `transient` is
   * true when nothing keeps the returned array past the write (every handle it goes to
   * copies it, see `HandleCapabilities.copiesBytes`): the bytes may then be a slice of a
   * shared pool such as `Buffer.allocUnsafe`'s. A serializer may ignore it.
   */
  serialize(value: unknown, transient?: boolean): Uint8Array
  /**
   * Decodes bytes written by `serialize`. Must throw on bytes it did not write. `bytes` may
   * be a view on a larger network buffer (handles do not copy what they read): copy them if
   * the returned value keeps them.
   */
  deserialize(bytes: Uint8Array): unknown
}

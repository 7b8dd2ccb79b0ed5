/**
 * LEB128 varints for non-negative integers, as the frame codec and tagged item bytes write
 * their lengths and counts (7 bits a byte, the high bit set on every byte but the last).
 */

/** Bytes `value` takes as a varint. */
export function varintSize(value: number): number {
  let size = 1
  while (value >= 0x80) {
    value = Math.floor(value / 128)
    size++
  }
  return size
}

/** Writes `value` at `pos` of `out`; returns the position after it. */
export function writeVarint(out: Uint8Array, pos: number, value: number): number {
  while (value >= 0x80) {
    out[pos++] = (value & 0x7f) | 0x80
    value = Math.floor(value / 128)
  }
  out[pos++] = value
  return pos
}

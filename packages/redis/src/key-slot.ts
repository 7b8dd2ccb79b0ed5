/**
 * Redis Cluster hash slot of a key (CRC16-XMODEM of the key or of its `{hash tag}`,
 * modulo 16384). Computed here so multi-key commands can be grouped by slot
 * without a dependency on ioredis internals.
 */

const TABLE = (() => {
  const table = new Uint16Array(256)
  for (let i = 0; i < 256; i++) {
    let crc = i << 8
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
    table[i] = crc
  }
  return table
})()

function crc16(bytes: Uint8Array): number {
  let crc = 0
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ byte) & 0xff] ?? 0)
  return crc
}

const encoder = new TextEncoder()

/** The cluster slot (0..16383) a key hashes to, honouring `{hash tags}` like Redis does. */
export function keySlot(key: string): number {
  let bytes = encoder.encode(key)
  const open = bytes.indexOf(0x7b) // '{'
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1) // '}'
    if (close > open + 1) bytes = bytes.subarray(open + 1, close)
  }
  return crc16(bytes) % 16384
}

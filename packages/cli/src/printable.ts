/**
 * Keys, regions and values come from a shared server and may be hostile: a frame can
 * carry terminal escape sequences or bidirectional overrides that would rewrite what the
 * operator sees. Everything printed from the wire goes through here.
 */

// C0 controls are escaped by JSON.stringify; it leaves DEL, the C1 controls (U+009B is
// a one-character CSI) and the bidi overrides/isolates alone.
const UNSAFE = /[\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

/** A quoted, escaped rendering of untrusted text that cannot move the cursor or reorder the line. */
export function printable(text: string): string {
  return JSON.stringify(text).replace(
    UNSAFE,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

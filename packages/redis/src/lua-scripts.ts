/**
 * The Lua scripts of the Redis handle. Each touches exactly one key, declared in
 * KEYS (so they run unchanged on Redis Cluster), and is called by SHA with a
 * fallback to EVAL on NOSCRIPT (a restarted or failed-over server forgets scripts).
 *
 * An item is a STRING holding core's envelope (item-codec.ts): bytes 0-2 the magic
 * 'C' 'E' and format 1, byte 3 the mode (0 none, 1 absolute, 2 sliding), then f64
 * little-endian ttl (offset 4), expiresAt (12), created (20), version (28), then the
 * value (format 2, an item with grace, has the grace f64 at offset 36 before the value;
 * the scripts never touch it). Scripts read the 36-byte header with GETRANGE; `expire` and `touch` patch it in
 * place with SETRANGE, so they never rewrite the value (Redis' bundled `struct` library
 * packs and unpacks the doubles, exact for integers below 2^53).
 *
 * Redis expires the key itself: writes pass the remaining lifetime as a PX argument
 * computed by the caller ('0' = none), so clock skew between the application and the
 * server does not shorten or stretch lifetimes. A key of another type, or a string
 * that is not an envelope, raises `CACHEPLANE_CORRUPT` where the script needs the
 * header, which the handle turns into an ItemCorruptError (core: a miss plus an error
 * event); `set` overwrites it instead, as a set overwrites anything.
 *
 * `add` and `set` are no scripts at all: `SET key bytes [NX] [PX ms]`. The writer draws
 * the version (`newVersion` in core: 53 random bits) and it travels inside the bytes, so
 * no script reads the previous version to number the next one: a counter kept in the item
 * would restart at 1 when the key is removed and added again, and an update prepared
 * against the old item would then match the new one.
 */
import { createHash } from 'node:crypto'
import { ENVELOPE_MODE_CODES } from '@cacheplane/core'

/** A script with its SHA1, computed once. */
export interface LuaScript {
  /** Name used in errors. */
  readonly name: string
  /** The Lua source. */
  readonly source: string
  /** SHA1 of the source, as EVALSHA wants it. */
  readonly sha: string
}

function script(name: string, source: string): LuaScript {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') }
}

// `header()`: the key's 36-byte header, false when the key does not exist, or nil and an
// error reply (returned as is by the caller) when it holds anything but an envelope.
// `write(bytes, px)`: SET with the lifetime `px` ms ('0' = none; a plain SET also drops
// any previous TTL).
const PRELUDE = `
local function corrupt(why) return redis.error_reply('CACHEPLANE_CORRUPT ' .. why) end
-- Format 1, or format 2 (an item with grace: the same first 36 bytes, then the grace).
local function is_envelope(h)
  if type(h) ~= 'string' or #h ~= 36 then return false end
  local magic = string.sub(h, 1, 3)
  return magic == 'CE\\1' or magic == 'CE\\2'
end
-- The stored version when it is one core could have written (an integer in [1, 2^53)), else nil.
local function version_of(h)
  local v = struct.unpack('<d', h, 29)
  if v ~= v or v < 1 or v >= 9007199254740992 or v ~= math.floor(v) then return nil end
  return v
end
local function header()
  local h = redis.pcall('GETRANGE', KEYS[1], 0, 35)
  if type(h) == 'table' then return nil, corrupt('key is not a string') end
  if h == '' then
    if redis.call('EXISTS', KEYS[1]) == 0 then return false end
    return nil, corrupt('empty string')
  end
  if not is_envelope(h) then return nil, corrupt('not a cacheplane envelope') end
  if version_of(h) == nil then return nil, corrupt('the version is not a positive integer') end
  return h
end
local function write(bytes, px)
  if px == '0' then redis.call('SET', KEYS[1], bytes) else redis.call('SET', KEYS[1], bytes, 'PX', px) end
end
`

/**
 * ARGV: bytes (their header carries the new version), px, the expected version. Returns 1
 * when written, 0 when the key is missing, -1 when its version is not the expected one.
 */
export const UPDATE_SCRIPT = script(
  'update',
  `${PRELUDE}
local h, err = header()
if h == nil then return err end
if h == false then return 0 end
if version_of(h) ~= tonumber(ARGV[3]) then return -1 end
write(ARGV[1], ARGV[2])
return 1
`,
)

/**
 * ARGV: mode code, ttl, expiresAt, px, the new version (expire is a write: an update
 * prepared before it must not write the old lifetime back), now. Returns 1 when the item
 * exists (and was changed), else 0: an item past its expiry, kept for its grace, is absent
 * (re-timing it would revive an expired value). The header is patched from the mode byte to
 * the version, the item's `created` (offset 20) rewritten as it was.
 */
export const EXPIRE_SCRIPT = script(
  'expire',
  `${PRELUDE}
local h, err = header()
if h == nil then return err end
if h == false then return 0 end
if string.byte(h, 4) == ${ENVELOPE_MODE_CODES.absolute} and struct.unpack('<d', h, 13) <= tonumber(ARGV[6]) then return 0 end
local created = struct.unpack('<d', h, 21)
redis.call('SETRANGE', KEYS[1], 3, struct.pack('<Bdddd', tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), created, tonumber(ARGV[5])))
if ARGV[4] == '0' then redis.call('PERSIST', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return 1
`,
)

/** ARGV: now. Extends a sliding item; returns 1 when the item exists, else 0. */
export const TOUCH_SCRIPT = script(
  'touch',
  `${PRELUDE}
local h, err = header()
if h == nil then return err end
if h == false then return 0 end
if string.byte(h, 4) == ${ENVELOPE_MODE_CODES.sliding} then
  local ttl = struct.unpack('<d', h, 5)
  if ttl > 0 then
    redis.call('SETRANGE', KEYS[1], 12, struct.pack('<d', tonumber(ARGV[1]) + ttl))
    redis.call('PEXPIRE', KEYS[1], string.format('%.0f', ttl))
  end
end
return 1
`,
)

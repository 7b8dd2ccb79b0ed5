/**
 * The Lua scripts of the Redis handle. Each touches exactly one key, declared in
 * KEYS (so they run unchanged on Redis Cluster), and is called by SHA with a
 * fallback to EVAL on NOSCRIPT (a restarted or failed-over server forgets scripts).
 *
 * An item is a HASH: `v` value bytes, `m` mode (`n`one/`a`bsolute/`s`liding),
 * `t` ttl ms, `e` expiresAt (epoch ms, 0 = never), `c` created (epoch ms), `r` version.
 * Redis expires the key itself (PEXPIRE); times are the caller's clock (`now`
 * travels in ARGV) and only relative TTLs reach Redis, so clock skew between the
 * application and the server does not shorten or stretch lifetimes.
 * A key of another type raises `CACHEPLANE_CORRUPT`, which the handle turns into
 * an ItemCorruptError (core: a miss plus an error event).
 */
import { createHash } from 'node:crypto'

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

// Shared prologue: reject keys that are not hashes; write the expiry from a relative TTL.
const CHECK_TYPE = `
local kind = redis.call('TYPE', KEYS[1]).ok
if kind ~= 'hash' and kind ~= 'none' then return redis.error_reply('CACHEPLANE_CORRUPT key holds a ' .. kind) end
`
const APPLY_EXPIRY = `
local function apply_expiry(mode, expires_at, now)
  if mode == 'n' then
    redis.call('PERSIST', KEYS[1])
  else
    local px = tonumber(expires_at) - tonumber(now)
    if px < 1 then px = 1 end
    redis.call('PEXPIRE', KEYS[1], string.format('%.0f', px))
  end
end
`

/** ARGV: value, mode, ttl, expiresAt, created, version ('' = old + 1), now. Returns the version written. */
export const SET_SCRIPT = script(
  'set',
  `${APPLY_EXPIRY}
local kind = redis.call('TYPE', KEYS[1]).ok
local old = 0
if kind == 'hash' then
  old = tonumber(redis.call('HGET', KEYS[1], 'r')) or 0
elseif kind ~= 'none' then
  redis.call('DEL', KEYS[1])
end
local version = tonumber(ARGV[6]) or (old + 1)
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'm', ARGV[2], 't', ARGV[3], 'e', ARGV[4], 'c', ARGV[5], 'r', string.format('%.0f', version))
apply_expiry(ARGV[2], ARGV[4], ARGV[7])
return version
`,
)

/** ARGV as SET (version '' = 1). Returns 1 when written, 0 when the key exists. */
export const ADD_SCRIPT = script(
  'add',
  `${APPLY_EXPIRY}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local version = ARGV[6]
if version == '' then version = '1' end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'm', ARGV[2], 't', ARGV[3], 'e', ARGV[4], 'c', ARGV[5], 'r', version)
apply_expiry(ARGV[2], ARGV[4], ARGV[7])
return 1
`,
)

/** ARGV as SET plus ARGV[8] = expected version. Returns the new version, 0 when missing, -1 on conflict. */
export const UPDATE_SCRIPT = script(
  'update',
  `${CHECK_TYPE}${APPLY_EXPIRY}
if kind == 'none' then return 0 end
local current = redis.call('HGET', KEYS[1], 'r')
if current == false then return redis.error_reply('CACHEPLANE_CORRUPT item has no version') end
if tonumber(current) ~= tonumber(ARGV[8]) then return -1 end
local version = tonumber(ARGV[6]) or (tonumber(ARGV[8]) + 1)
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'm', ARGV[2], 't', ARGV[3], 'e', ARGV[4], 'c', ARGV[5], 'r', string.format('%.0f', version))
apply_expiry(ARGV[2], ARGV[4], ARGV[7])
return version
`,
)

/** ARGV: mode, ttl, expiresAt, now. Returns 1 when the item exists (and was changed), else 0. */
export const EXPIRE_SCRIPT = script(
  'expire',
  `${CHECK_TYPE}${APPLY_EXPIRY}
if kind == 'none' then return 0 end
redis.call('HSET', KEYS[1], 'm', ARGV[1], 't', ARGV[2], 'e', ARGV[3])
apply_expiry(ARGV[1], ARGV[3], ARGV[4])
return 1
`,
)

/** ARGV: now. Extends a sliding item; returns 1 when the item exists, else 0. */
export const TOUCH_SCRIPT = script(
  'touch',
  `${CHECK_TYPE}
if kind == 'none' then return 0 end
if redis.call('HGET', KEYS[1], 'm') == 's' then
  local ttl = tonumber(redis.call('HGET', KEYS[1], 't'))
  if ttl ~= nil and ttl > 0 then
    redis.call('HSET', KEYS[1], 'e', string.format('%.0f', tonumber(ARGV[1]) + ttl))
    redis.call('PEXPIRE', KEYS[1], string.format('%.0f', ttl))
  end
end
return 1
`,
)

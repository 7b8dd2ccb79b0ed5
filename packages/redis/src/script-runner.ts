import type { LuaScript } from './lua-scripts.js'
import type { RedisClient } from './redis-connection.js'

type Arg = string | Buffer

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT')
}

/**
 * Runs a one-key script by SHA and falls back to EVAL (which also caches it on
 * that server) when the server answers NOSCRIPT: after a restart, a failover or
 * on a cluster node that never saw it.
 */
export async function runScript(
  client: RedisClient,
  lua: LuaScript,
  key: string,
  args: Arg[],
): Promise<unknown> {
  try {
    return await client.evalsha(lua.sha, 1, key, ...args)
  } catch (error) {
    if (!isNoScript(error)) throw error
    return await client.eval(lua.source, 1, key, ...args)
  }
}

// Public API of @cacheplane/redis.

export { corkWrites } from './corked-writes.js'
export { type RedisBackplaneOptions, redisBackplane } from './redis-backplane.js'
export type { RedisClient, RedisConnectionOptions } from './redis-connection.js'
export { type RedisCacheHandle, type RedisHandleOptions, redisHandle } from './redis-handle.js'
